"""GitHub Actions workflow commands (`::error file=F,line=L,title=T::message`): findings shown on the
right line of the right file. Values are escaped as GitHub requires, so that no message can ever
start a second command: `%`, CR and LF everywhere, and `:` and `,` in properties too."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple, TextIO

COMPILER = re.compile(r"^(?P<file>(?:\.{0,2}/)?[^\s:]+\.go):(?P<line>\d+):(?P<col>\d+): (?P<message>.+)$")


class Annotation(NamedTuple):
    level: str  # error | warning | notice
    message: str
    file: str | None = None
    line: int | None = None
    col: int | None = None
    title: str | None = None


def chosen(given: str | None) -> str | None:
    """The output format: the one given, else `github` inside GitHub Actions (as other tools do)."""
    return given or ("github" if os.environ.get("GITHUB_ACTIONS") == "true" else None)


def workflow_command(a: Annotation) -> str:
    properties = [f"{key}={_property(str(value))}" for key, value in
                  (("file", a.file), ("line", a.line), ("col", a.col), ("title", a.title)) if value is not None]
    head = f"{a.level} {','.join(properties)}" if properties else a.level
    return f"::{head}::{_data(a.message)}"


def print_annotations(annotations: Iterable[Annotation], out: TextIO) -> None:
    out.writelines(workflow_command(a) + "\n" for a in annotations)


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def shown(path: Path) -> str:
    """A path as GitHub places it: relative to the workspace (here: the working folder) when inside it."""
    absolute = path.absolute()
    try:
        return absolute.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return absolute.as_posix()


def module_place(project: Path, module: str) -> tuple[str, int]:
    """The file and line that names `module`: its line in go.mod, else in go.sum, else go.mod's first."""
    for name in ("go.mod", "go.sum"):
        try:
            lines = (project / name).read_text(errors="replace").splitlines()
        except OSError:
            continue
        for number, line in enumerate(lines, start=1):
            words = line.replace("\t", " ").split()
            if module in words[:2] and not line.lstrip().startswith("//"):
                return shown(project / name), number
    return shown(project / "go.mod"), 1


def go_line_place(project: Path) -> tuple[str, int]:
    """go.mod's `go` line."""
    try:
        for number, line in enumerate((project / "go.mod").read_text(errors="replace").splitlines(), start=1):
            if line.strip().startswith("go "):
                return shown(project / "go.mod"), number
    except OSError:
        pass
    return shown(project / "go.mod"), 1


def compiler_errors(lines: Iterable[str], project: Path, title: str) -> list[Annotation]:
    """The compiler's `file:line:col: message` lines as annotations on those files."""
    found = []
    for line in lines:
        m = COMPILER.match(line.strip())
        if m:
            found.append(Annotation("error", m["message"], shown(project / m["file"]), int(m["line"]), int(m["col"]),
                                    title))
    return found


def toml_table_line(path: Path, table: str, index: int) -> int:
    """The line of the `index`-th (1-based) `[[table]]` of a TOML file (1 when not found)."""
    seen = 0
    try:
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
            if line.strip().replace(" ", "") == f"[[{table}]]":
                seen += 1
                if seen == index:
                    return number
    except OSError:
        pass
    return 1
