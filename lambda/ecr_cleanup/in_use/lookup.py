"""Every in-use lookup goes through here, so any failure names the call that failed.

A protection whose lookup fails cannot be trusted, so the run must delete nothing; the
operator then needs to know which permission or service is at fault.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError


class LookupFailed(Exception):
    """An in-use lookup failed; the message names it as ``service:Operation``."""


def call(client: Any, method: str, **params: Any) -> dict[str, Any]:
    """One API call; a ClientError or BotoCoreError becomes LookupFailed naming it."""
    try:
        response: dict[str, Any] = getattr(client, method)(**params)
    except (ClientError, BotoCoreError) as error:
        raise _failed(client, method, error) from error
    return response


def items(client: Any, method: str, key: str, **params: Any) -> Iterator[Any]:
    """Stream ``key``'s entries over every page of a paginated call, naming it on failure."""
    try:
        for page in client.get_paginator(method).paginate(**params):
            yield from page.get(key, [])
    except (ClientError, BotoCoreError) as error:
        raise _failed(client, method, error) from error


def _failed(client: Any, method: str, error: ClientError | BotoCoreError) -> LookupFailed:
    service = client.meta.service_model.endpoint_prefix
    operation = client.meta.method_to_api_mapping.get(method, method)
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        reason = f"{details.get('Code', 'Error')}: {details.get('Message', '')}".strip()
    else:
        reason = f"{type(error).__name__}: {error}"
    return LookupFailed(f"in-use lookup {service}:{operation} failed: {reason}")
