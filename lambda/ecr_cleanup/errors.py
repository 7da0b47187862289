"""Refusals raised before any AWS call; each message names the field at fault."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the environment variable."""


class InvalidRequest(ValueError):
    """The event is refused; the message names the field and the reason."""


def describe(error: ValidationError, whole: str) -> str:
    """One line per problem, ``field[index]: reason``, ``whole`` naming the input itself."""
    problems = []
    for problem in error.errors():
        field = "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in problem["loc"]
        ).lstrip(".")
        reason = problem["msg"].removeprefix("Value error, ")
        problems.append(f"{field or whole}: {reason}")
    return "; ".join(problems)


def describe_error(error: ClientError | BotoCoreError) -> str:
    """``Code: message`` of an AWS error, or the SDK error's type and text."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'Error')}: {details.get('Message', '')}".strip()
    return f"{type(error).__name__}: {error}"
