"""Numbers spelled as text, read exactly as the function's settings read them.

The function reads a number setting as msgspec reads JSON (lambda/ecr_cleanup/settings.py):
a JSON number (RFC 8259: an optional `-`, digits without a leading zero, an optional
fraction and exponent) with JSON's four whitespace characters around it; a count must be a
JSON integer. These two functions apply the same grammar without importing the function or
msgspec at synth; tests/infra/test_drift.py checks them against the function's Settings.
"""

from __future__ import annotations

import math
import re
from typing import Final

_WHITESPACE: Final = " \t\n\r"
_INTEGER: Final = re.compile(r"-?(?:0|[1-9][0-9]*)")
_NUMBER: Final = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def read_float(text: str) -> float | None:
    """The finite number the function reads from `text`, or None if it refuses it."""
    trimmed = text.strip(_WHITESPACE)
    if not _NUMBER.fullmatch(trimmed):
        return None
    number = float(trimmed)  # correctly rounded, as msgspec's parser is
    return number if math.isfinite(number) else None


def read_int(text: str) -> int | None:
    """The whole number the function reads from `text`, or None if it refuses it."""
    trimmed = text.strip(_WHITESPACE)
    if not _INTEGER.fullmatch(trimmed):
        return None
    try:
        return int(trimmed)
    except ValueError:  # beyond Python's 4300 digits: out of every bound anyway
        return None
