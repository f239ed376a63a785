"""Griffe extension: read our ``Example:`` sections as Google-style ``Examples:``.

The house style (STYLE.md) writes a short ``Example:``; griffe only treats the
plural as an examples section and renders the singular as an admonition whose
``>>>`` lines become nested block quotes. Renaming the heading before parsing
makes the doctest lines render as Python code.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_SINGULAR = re.compile(r"(?m)^(?P<indent>[ \t]*)Example:[ \t]*$")


class ExampleSections(griffe.Extension):
    """Rename ``Example:`` section headings to ``Examples:`` in every docstring."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:  # noqa: ARG002
        if obj.docstring is not None:
            obj.docstring.value = _SINGULAR.sub(r"\g<indent>Examples:", obj.docstring.value)
