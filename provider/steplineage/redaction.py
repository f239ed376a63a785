"""Secrets never reach the catalog: parameter values under secret-looking keys are masked.

Example:
    >>> redact({"db_password": "hunter2", "gamma": 0.1, "conn": {"api_key": "k"}}, ["password", "api_key"])
    {'db_password': '***', 'gamma': 0.1, 'conn': {'api_key': '***'}}
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

__all__ = ["REDACTED", "clean_text", "jsonable", "redact", "secret_values"]

REDACTED = "***"


def redact(value: Any, keys: Iterable[str], secrets: Iterable[str] = ()) -> Any:
    """Copy of ``value`` with secret keys and known secret strings masked.

    Args:
        value: parameters (nested dicts/lists allowed).
        keys: substrings of key names whose values are secret (case-insensitive).
        secrets: literal secret values to mask wherever they appear in strings
            (e.g. the values Airflow's secrets masker knows).
    """
    lowered = [k.lower() for k in keys]
    secret_values = [s for s in secrets if s and len(s) >= 3]

    def walk(item: Any) -> Any:
        if isinstance(item, dict):
            return {
                k: REDACTED if any(w in str(k).lower() for w in lowered) else walk(v)
                for k, v in item.items()
            }
        if isinstance(item, (list, tuple)):
            return [walk(v) for v in item]
        if isinstance(item, str):
            for secret in secret_values:
                item = item.replace(secret, REDACTED)
        return item

    return walk(value)


def secret_values(value: Any, keys: Iterable[str]) -> list[str]:
    """The string values stored under secret-looking keys (to mask them in free text).

    Example:
        >>> secret_values({"token": "abc123", "n": 1}, ["token"])
        ['abc123']
    """
    lowered = [k.lower() for k in keys]
    found: list[str] = []

    def walk(item: Any) -> None:
        if isinstance(item, dict):
            for k, v in item.items():
                if any(w in str(k).lower() for w in lowered):
                    if isinstance(v, (str, int, float)) and not isinstance(v, bool):
                        found.append(str(v))
                else:
                    walk(v)
        elif isinstance(item, (list, tuple)):
            for v in item:
                walk(v)

    walk(value)
    return found


def clean_text(text: str) -> str:
    """``text`` with NUL characters replaced by U+FFFD (PostgreSQL cannot store NUL)."""
    return text.replace("\x00", "\ufffd")


def jsonable(value: Any) -> Any:
    r"""``value`` converted to what JSON (and every catalog database) can hold.

    Unknown objects become their repr; NaN and infinities become strings;
    NUL characters become U+FFFD.

    Example:
        >>> jsonable({"when": float("nan"), "s": "a\x00b"})
        {'when': 'nan', 's': 'a\ufffdb'}
    """
    def walk(item: Any) -> Any:
        if isinstance(item, dict):
            return {clean_text(str(k)): walk(v) for k, v in item.items()}
        if isinstance(item, list):
            return [walk(v) for v in item]
        if isinstance(item, str):
            return clean_text(item)
        if isinstance(item, float) and (item != item or item in (float("inf"), float("-inf"))):
            return str(item)
        return item

    return walk(json.loads(json.dumps(value, default=_fallback)))


def _fallback(obj: Any) -> Any:
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    return repr(obj)
