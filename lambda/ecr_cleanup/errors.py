"""Refusals raised before any AWS call; each message names the field at fault."""

from __future__ import annotations

import re
from collections.abc import Sequence

from botocore.exceptions import BotoCoreError, ClientError

# msgspec names the place last (" - at `$.target.account`") and a field it misses or does
# not know inside the text; both become the problem's location. The name is taken whole
# (greedy, newlines included): only the path at the very end is msgspec's own.
_AT = re.compile(r" - at `\$(?P<path>[^`]*)`\Z")
_OBJECT = re.compile(
    r"\AObject (?P<what>missing required|contains unknown) field `(?P<name>.*)`\Z", re.DOTALL
)
_REASONS = {"missing required": "required", "contains unknown": "not a known field"}
NULL = "must not be null"


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names each environment variable."""

    def __init__(self, message: str, problems: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems)  # (variable, reason) when the settings refused

    @classmethod
    def naming(cls, problems: Sequence[tuple[str, str]]) -> ConfigError:
        """``invalid configuration: VARIABLE: reason; ...``, every problem at once."""
        listed = "; ".join(f"{name}: {why}" for name, why in problems)
        return cls(f"invalid configuration: {listed}", problems)


class InvalidRequest(ValueError):
    """The event is refused; the message names the field and the reason."""


def locate(error: Exception, base: str = "") -> tuple[str, str]:
    """``(field, reason)`` of a msgspec ValidationError (or a reader's ValueError), the
    field as ``base.name[index]``."""
    reason = str(error)
    path = ""
    if at := _AT.search(reason):
        reason, path = reason[: at.start()], at["path"]
    if known := _OBJECT.match(reason):
        reason, path = _REASONS[known["what"]], f"{path}.{known['name']}"
    if reason.endswith("got `null`"):
        reason = NULL
    return f"{base}{path}".lstrip("."), reason


def describe_error(error: ClientError | BotoCoreError) -> str:
    """``Code: message`` of an AWS error, or the SDK error's type and text."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'Error')}: {details.get('Message', '')}".strip()
    return f"{type(error).__name__}: {error}"
