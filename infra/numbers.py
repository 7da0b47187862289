"""Numbers spelled as text, read exactly as the function's settings read them.

The function parses its environment with pydantic (lax mode), whose core reads `int` and
`float` from text with its own rules: surrounding Unicode whitespace, `+`, `_` between digits,
`1.`/`.5`/`1e3` for floats, `4.0` for ints, and a few oddities (pydantic-core's
`str_as_int`/`clean_int_str` and `str_as_float`). The stack must accept exactly the values
the function accepts, so these functions port those rules instead of Python's `int()` and
`float()`, which differ (`float('١٢')` is 12.0; pydantic refuses it). Porting keeps pydantic
out of synth; tests/infra/test_drift.py checks the port against the function's Settings.
"""

from __future__ import annotations

import math
import re
from typing import Final

# What Rust's str::trim removes (Unicode White_Space); Python's str.strip also removes
# U+001C..U+001F, which pydantic does not.
_WHITESPACE: Final = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)
# Rust's f64 grammar (inf and nan are refused anyway: the settings allow no infinities).
_FLOAT: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# A JSON integer, which is what pydantic-core's integer parser (jiter) reads.
_JSON_INT: Final = re.compile(r"-?(?:0|[1-9][0-9]*)")


def read_float(text: str) -> float | None:
    """The finite float pydantic reads from `text`, or None if it refuses it."""
    trimmed = text.strip(_WHITESPACE)
    if _FLOAT.fullmatch(trimmed):
        spelled = trimmed
    else:
        # Second chance without underscores, on the untrimmed text (as pydantic-core does).
        stripped = _without_underscores(text)
        if stripped is None or not _FLOAT.fullmatch(stripped):
            return None
        spelled = stripped
    number = float(spelled)  # correctly rounded, like Rust's parser
    return number if math.isfinite(number) else None


def read_int(text: str) -> int | None:
    """The integer pydantic reads from `text`, or None if it refuses it."""
    if _JSON_INT.fullmatch(text):
        return _int(text)
    cleaned = _clean_int(text)
    if cleaned is None or not _JSON_INT.fullmatch(cleaned):
        return None
    return _int(cleaned)


def _int(digits: str) -> int | None:
    try:
        return int(digits)
    except ValueError:  # beyond 4300 digits, which pydantic refuses too
        return None


def _without_underscores(text: str) -> str | None:
    if text.startswith("_") or text.endswith("_") or "__" in text or "_" not in text:
        return None
    return text.replace("_", "")


def _clean_int(text: str) -> str | None:
    """pydantic-core's clean_int_str: trim, one sign, leading zeros, `.0+`, underscores."""
    text_length = len(text)
    text = text.strip(_WHITESPACE)
    if text.startswith("+"):
        if text[1:].startswith("-"):
            return None
        text = text[1:]
    negative = text.startswith("-")
    if negative:
        if text[1:].startswith(("-", "+")):
            return None
        text = text[1:]
    unpadded = _strip_leading_zeros(text)
    if unpadded is None:
        return None
    text = unpadded
    point = text.find(".")
    if point >= 0:
        decimals = text[point + 1 :]
        if decimals and set(decimals) == {"0"}:
            text = text[:point]
    sign = "-" if negative else ""
    stripped = _without_underscores(text)
    if stripped is not None:
        return sign + stripped
    if len(text) == text_length:  # nothing to clean: refused
        return None
    return sign + text


def _strip_leading_zeros(text: str) -> str | None:
    """pydantic-core's strip_leading_zeros, including its quirk: after leading zeros a `-`
    starts the rest, so '0-0' reads as '-0' (0), within this stack's bounds only ever 0."""
    if not text:
        return None
    if text[0] != "0":
        return text if text[0] in "123456789-" else None
    for index, char in enumerate(text[1:], start=1):
        if char in "0_":
            continue
        if char in "123456789-":
            return text[index:]
        if char == ".":
            return text[index - 1 :]
        return None
    return text[-1:]
