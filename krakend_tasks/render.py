"""Rendering of core results: rich tables for people, JSON for machines. No computing here."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, TextIO

from krakend_tasks.core.build import Artifact


def as_json(value: Any) -> str:
    return json.dumps(value, indent=2, default=lambda o: asdict(o) if hasattr(o, "__dataclass_fields__") else str(o))


def print_artifacts(artifacts: Sequence[Artifact], as_machine: bool = False, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    if as_machine:
        out.write(as_json({"artifacts": list(artifacts)}) + "\n")
        return
    header = ("target", "file", "KrakenD", "Go", "size", "engine", "seconds", "sha256")
    rows = [(a.target, a.path, a.krakend, a.go, str(a.size), a.engine, f"{a.duration:.1f}", a.sha256[:12])
            for a in artifacts]
    print_table("KrakenD plugin artifacts", header, rows, out)


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]], out: TextIO) -> None:
    """A rich table on a terminal, tab-separated lines elsewhere (logs, pipes, CI)."""
    if not out.isatty():
        out.writelines("\t".join(row) + "\n" for row in [header, *rows])
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in header:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    Console(file=out).print(table)
