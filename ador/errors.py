"""Errors that reach the user as one clear line (file, field, rule, value) and exit code 2."""

from __future__ import annotations

from typing import Any


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
            where.append(f"field '{self.field}'")
        head = ": ".join(where)
        text = f"{head}: {self.rule}" if head else self.rule
        if self.show_value and self.value is not None:
            text += f" (got {self.value!r})"
        return text


class SpecError(AdorError):
    """A hardware, model, scenario or space spec is malformed or out of range."""


class UnitError(SpecError):
    """A quantity has a missing, unknown or wrong unit."""


class InfeasibleError(AdorError):
    """The request cannot be met: the model does not fit, an SLO is impossible, ..."""
