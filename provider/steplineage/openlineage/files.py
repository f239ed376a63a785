"""Reading OpenLineage event files: JSON lines, a JSON array, or objects one after another.

Example:
    >>> read_event_file('{"a": 1}\\n{"a": 2}\\n')
    [{'a': 1}, {'a': 2}]
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["read_event_file"]


def read_event_file(text: str) -> list[Any]:
    """Events in a file: a JSON array, JSON lines, or JSON objects one after another
    (what openlineage-python's file transport writes, pretty-printed or not).

    Text that is not JSON stays in the list as a string, up to the end of its
    line, so ingest rejects it by position instead of losing the whole file.

    Example:
        >>> read_event_file('{"a": 1}\\n{"a": 2}\\n')
        [{'a': 1}, {'a': 2}]
        >>> read_event_file('[{"a": 1}]')
        [{'a': 1}]
        >>> read_event_file('{"a": 1}\\nnot json\\n')
        [{'a': 1}, 'not json']
    """
    decoder = json.JSONDecoder()
    found: list[Any] = []
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos].isspace():
            pos += 1
        if pos >= end:
            break
        try:
            value, pos = decoder.raw_decode(text, pos)
        except ValueError:
            stop = text.find("\n", pos)
            stop = end if stop < 0 else stop
            found.append(text[pos:stop])
            pos = stop
            continue
        if isinstance(value, list) and not found and text[pos:].strip() == "":
            return value  # the whole file is one array
        found.append(value)
    return found
