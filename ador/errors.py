"""Errors that reach the user as one clear line (file, field, rule, value) and exit code 2."""

from __future__ import annotations

import re
from typing import Any

# Longest echo of an offending value or field path, and of a whole message: a 200k-item
# list or a megabyte key is shown by its start and its length, not in full.
MAX_ECHO = 80
MAX_MESSAGE = 400


_CREDENTIALS = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s'\"]*:)[^@\s'\"]*@")


def redact_urls(text: str) -> str:
    """``text`` with the password of every URL replaced by ``***``
    (``postgresql://me:secret@db/x`` -> ``postgresql://me:***@db/x``)."""
    return _CREDENTIALS.sub(r"\g<head>***@", text)


def short_repr(value: Any, limit: int = MAX_ECHO) -> str:
    """``repr(value)`` cut to about ``limit`` characters, saying how long it was."""
    text = _bounded_repr(value, limit)
    if len(text) <= limit:
        return text
    return f"{text[:limit - 20]}... ({_size(value)})"


def _bounded_repr(value: Any, limit: int) -> str:
    """repr that does not build megabytes for a huge list, mapping or string."""
    if isinstance(value, str) and len(value) > 4 * limit:
        return repr(value[:2 * limit])
    if isinstance(value, (list, tuple)) and len(value) > limit:
        return repr(type(value)(value[:limit]))
    if isinstance(value, dict) and len(value) > limit:
        return repr(dict(list(value.items())[:limit]))
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        return f"<an integer of about {int(value.bit_length() * 0.30103) + 1} digits>"
    return repr(value)


def _size(value: Any) -> str:
    if isinstance(value, str):
        return f"{len(value)} characters"
    if isinstance(value, (list, tuple, dict)):
        return f"{len(value)} items"
    return "cut"


class AdorError(Exception):
    """A user-facing error: bad input, an impossible request, a missing file.

    The message names where the problem is (file and field path), the rule that was broken
    and the offending value, so that the CLI can print it on one line without a traceback.
    """

    def __init__(
        self,
        rule: str,
        *,
        file: str | None = None,
        field: str | None = None,
        value: Any = None,
        show_value: bool = True,
    ) -> None:
        self.rule = rule
        self.file = file
        self.field = field
        self.value = value
        self.show_value = show_value
        super().__init__(self.message())

    def message(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.field:
            where.append(f"field '{_cut(str(self.field), MAX_ECHO)}'")
        head = ": ".join(where)
        rule = _cut(self.rule, MAX_MESSAGE - len(head) - MAX_ECHO - 10)
        text = f"{head}: {rule}" if head else rule
        if self.show_value and self.value is not None:
            text += f" (got {short_repr(self.value)})"
        return redact_urls(" ".join(text.splitlines()))


def _cut(text: str, limit: int) -> str:
    limit = max(limit, 40)
    return text if len(text) <= limit else f"{text[:limit - 3]}..."


class SpecError(AdorError):
    """A hardware, model, scenario or space spec is malformed or out of range."""


class UnitError(SpecError):
    """A quantity has a missing, unknown or wrong unit."""


class InfeasibleError(AdorError):
    """The request cannot be met: the model does not fit, an SLO is impossible, ..."""
