"""A finding: something that will stop a plugin from loading (or may), with its fix."""

from __future__ import annotations

from typing import NamedTuple


class Finding(NamedTuple):
    """Something KrakenD's check does not see but the linker, the loader or the builder will."""

    severity: str  # error | warning
    subject: str
    message: str
    fix: str = ""

    @property
    def with_fix(self) -> str:
        """The message, and its fix when it has one: how a table, an annotation or a report says it."""
        return f"{self.message}; fix: {self.fix}" if self.fix else self.message
