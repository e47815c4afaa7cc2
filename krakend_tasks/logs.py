"""Log lines by kind, shown by level: what a person reads on stderr while a command works.

A line is a `str`; one made by `warning()`, `progress()`, `output()` or `detail()` also knows its
kind, so any callable that takes a string is a log (a list's `append` too) and the kind travels
with the line. Plain strings are notices.

    kind      shown            what
    warning   always           something to look at; the run goes on
    notice    unless --quiet   what was decided (the engine chosen, a file kept)
    progress  unless --quiet   a step starting (a build, a pull, a push, KrakenD's start)
    output    unless --quiet   a child's own lines (the compiler, docker build)
    detail    with --verbose   the commands run, each layer pushed

Errors are not log lines: they are always printed, and with --quiet a failed build's last output
lines come with its error. Colour: on a terminal unless NO_COLOR is set; FORCE_COLOR colours
anything (NO_COLOR wins).
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

QUIET, NORMAL, VERBOSE = 0, 1, 2
KINDS = {"warning": QUIET, "notice": NORMAL, "progress": NORMAL, "output": NORMAL, "detail": VERBOSE}
COLOURS = {"warning": "\x1b[33m", "detail": "\x1b[2m"}  # yellow, dim
RESET = "\x1b[0m"

level = NORMAL  # set once per run by `configure`


class Line(str):
    """A log line that knows its kind."""

    kind = "notice"

    def __new__(cls, text: str, kind: str = "notice") -> Line:
        line = super().__new__(cls, text)
        line.kind = kind
        return line


def warning(text: str) -> Line:
    return Line(text, "warning")


def progress(text: str) -> Line:
    return Line(text, "progress")


def output(text: str) -> Line:
    return Line(text, "output")


def detail(text: str) -> Line:
    return Line(text, "detail")


def kind_of(line: str) -> str:
    return getattr(line, "kind", "notice")


def configure(quiet: bool = False, verbose: bool = False) -> None:
    """The level of this run: --quiet, --verbose or neither (both: an error before this)."""
    global level
    level = QUIET if quiet else VERBOSE if verbose else NORMAL


def shown(kind: str) -> bool:
    return KINDS.get(kind, NORMAL) <= level


def colour(out: TextIO) -> bool:
    """Whether `out` gets colour: NO_COLOR (any value) never, FORCE_COLOR always, else a terminal's."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return out.isatty() and os.environ.get("TERM") != "dumb"


def to_stderr(line: str) -> None:
    """The log of every command: the line on stderr when its kind is shown at this level."""
    kind = kind_of(line)
    if not shown(kind):
        return
    out = sys.stderr
    if kind in COLOURS and colour(out):
        line = f"{COLOURS[kind]}{line}{RESET}"
    print(line, file=out, flush=True)


def renamed(old: str, new: str) -> None:
    """What a session, task or command run by its old name says: its new one."""
    to_stderr(warning(f"{old} is now {new} (the old name still works)"))
