"""Opaque page tokens, as AWS list calls hand out: they name a position, not an offset.

A token records the last key returned and the listing it belongs to, so a page resumes
after that key even if items were deleted meanwhile, and a token passed to another
listing (other repository, other filter) is refused, as AWS refuses it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from typing import Any

Key = tuple[str, str]


class BadToken(ValueError):
    """A token that is malformed or was issued for another listing."""


def encode(scope: str, key: Key) -> str:
    raw = json.dumps({"scope": scope, "after": list(key)}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode(token: Any, scope: str) -> Key | None:
    """The key a token resumes after (None for no token); `BadToken` if it is not ours."""
    if token is None:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(str(token).encode()))
        after = data["after"]
        if data["scope"] == scope and isinstance(after, list) and len(after) == 2:
            return str(after[0]), str(after[1])
    except (ValueError, KeyError, TypeError, binascii.Error):
        pass
    raise BadToken(str(token))


def take(entries: Iterator[tuple[Key, Any]], limit: int) -> tuple[list[Any], Key | None]:
    """One page from keyed entries; the resume key is the last one taken, if more follow."""
    page: list[Any] = []
    last: Key | None = None
    for key, item in entries:
        if len(page) == limit:
            return page, last
        page.append(item)
        last = key
    return page, None
