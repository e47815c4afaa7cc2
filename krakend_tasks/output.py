"""One output path for every command's result: a table for people or a JSON document (`--format
table|json`, `--json` being `--format json`), GitHub annotations with `--format github` (the default
inside GitHub Actions), and a JUnit file with `--junit`."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from krakend_tasks.errors import ConfigError

if TYPE_CHECKING:
    from krakend_tasks.annotations import Annotation
    from krakend_tasks.junit import Suite

FORMATS = ("table", "json", "github")


class Output:
    """How a command was asked to show its result: chosen and checked before any work."""

    def __init__(self, output: str | None = None, json: bool = False, junit: str | None = None,
                 formats: Sequence[str] = FORMATS) -> None:
        from krakend_tasks.annotations import chosen

        self.format = "json" if json else chosen(output) or "table"
        if self.format not in formats:
            raise ConfigError(f"unknown format {self.format!r}", hint=f"use one of: {', '.join(formats)}")
        self.junit = self._writable(Path(junit)) if junit else None  # refused before any work

    @staticmethod
    def _writable(path: Path) -> Path:
        from krakend_tasks.junit import writable

        return writable(path)

    @property
    def machine(self) -> bool:
        """JSON for a machine, not a table for a person."""
        return self.format == "json"

    def annotate(self, annotations: Callable[[], list[Annotation]]) -> None:
        """GitHub's workflow commands, when that format was asked for."""
        if self.format == "github":
            from krakend_tasks.annotations import print_annotations

            print_annotations(annotations(), sys.stdout)

    def emit(self, show: Callable[[bool], None], annotations: Callable[[], list[Annotation]] | None = None,
             suites: Callable[[], list[Suite]] | None = None) -> None:
        """The result in the format asked: `show(machine)` prints the table or the JSON document, then
        the annotations (github) and the JUnit suites (--junit)."""
        show(self.machine)
        if annotations is not None:
            self.annotate(annotations)
        if self.junit is not None and suites is not None:
            from krakend_tasks.junit import write_junit

            write_junit(self.junit, suites())
