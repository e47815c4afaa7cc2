"""What a person watches while a command runs: a live status per target (builds, loads), and the
development loop's screen (rich on a terminal; a line, or a JSON object, per event elsewhere)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

from krakend_tasks import logs
from krakend_tasks.render import JSON_VERSION, plain

if TYPE_CHECKING:
    from krakend_tasks.core.serving.dev import Event

Mark = Callable[[str, str], None]  # (label, state): state is running, done or failed


@contextmanager
def progress(labels: Sequence[str], verb: str, out: TextIO | None = None) -> Iterator[Mark]:
    """Live status per target on a terminal (rich); elsewhere nothing, the log lines say it all."""
    out = out or sys.stderr
    if not out.isatty() or not labels or not logs.shown("progress"):
        yield lambda label, state: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                   console=Console(file=out), redirect_stderr=True, redirect_stdout=False, transient=False)
    tasks = {label: bar.add_task(f"{verb} {label}: waiting", total=1, start=False) for label in labels}

    def mark(label: str, state: str) -> None:
        task = tasks[label]
        if state == "running":
            bar.start_task(task)
        bar.update(task, description=f"{verb} {label}: {state}", completed=1 if state != "running" else 0)

    with bar:
        yield mark


@contextmanager
def dev_screen(mode: str, out: TextIO | None = None) -> Iterator[Callable[[Event], None]]:
    """How the development loop shows its events: `json` (an object per event, for tools), `plain` (a
    line per event; also `live` when not a terminal), or `live`: one status on a terminal (rich)."""
    import time

    out = out or sys.stdout
    if mode == "json":
        def emit(e: Event) -> None:
            out.write(json.dumps({"version": JSON_VERSION, "time": round(time.time(), 3), **plain(e)}) + "\n")
            out.flush()
        yield emit
        return
    if mode == "plain" or not out.isatty():
        def say(e: Event) -> None:
            took = f" ({e.seconds:.1f} s)" if e.seconds is not None else ""
            mark = "" if e.ok else "FAILED "
            out.write(f"{time.strftime('%H:%M:%S')} {e.kind}: {mark}{e.message}{took}\n")
            out.writelines(f"    {line}\n" for line in e.details)
            out.flush()
        yield say
        return
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

    state: dict[str, Event] = {}

    def table() -> Table:
        grid = Table(title="krakend-tasks dev (Ctrl-C stops)", show_header=False)
        grid.add_column(style="bold")
        grid.add_column()
        for kind in ("build", "config", "krakend", "checks", "log", "change"):
            if kind in state:
                e = state[kind]
                text = ("" if e.ok else "[red]FAILED[/red] ") + e.message
                if e.details:
                    text += "\n" + "\n".join(e.details[-8:])
                grid.add_row(kind, text)
        return grid

    with Live(table(), console=Console(file=out), refresh_per_second=8, transient=False) as live:
        def update(e: Event) -> None:
            state[e.kind] = e
            live.update(table())
        yield update
