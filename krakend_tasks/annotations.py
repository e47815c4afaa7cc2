"""GitHub Actions workflow commands (`::error file=F,line=L,title=T::message`): findings shown on the
right line of the right file. Values are escaped as GitHub requires, so that no message can ever
start a second command: `%`, CR and LF everywhere, and `:` and `,` in properties too."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TextIO

if TYPE_CHECKING:
    from krakend_tasks.core.project.settings import Settings
    from krakend_tasks.core.serving.bench import BenchReport
    from krakend_tasks.core.serving.smoke import SmokeReport
    from krakend_tasks.core.targets import Target
    from krakend_tasks.core.verifying.check import Report
    from krakend_tasks.core.verifying.explain import Reading
    from krakend_tasks.core.verifying.testload import LoadResult

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


# Each command's results as annotations ----------------------------------------------------------

def check_annotations(reports: dict[str, Report], places: Mapping[str, Any]) -> list[Annotation]:
    """A module difference on that module's line of go.mod (go.sum when go.mod lacks it), Go on the go line."""

    found = []
    for key, r in reports.items():
        project = Path(places[key])
        title = f"check {key}: KrakenD {r.krakend.source}"
        for d in r.diffs:
            file, line = (module_place(project, d.name) if d.is_module else go_line_place(project)
                          if d.name == "go" else (shown(project / "go.mod"), 1))
            fix = f"; fix: {r.fix(d)}" if d.is_module and r.fix(d) else ""
            found.append(Annotation("error", f"{d.name}: the plugin has {d.have or '(empty)'}, KrakenD has "
                                    f"{d.want}{fix}", file, line, title=title))
        for f in r.findings:
            file, line = module_place(project, f.subject) if "/" in f.subject else (shown(project / "go.mod"), 1)
            found.append(Annotation("error" if f.severity == "error" else "warning", f.with_fix, file, line,
                                    title=title))
    return found


def load_annotations(results: list[tuple[Path, Target, LoadResult]], projects: Mapping[Any, Any]) -> list[Annotation]:
    """A refused load on the plugin's go.mod, on the line of the module whose packages differ."""

    found = []
    for path, target, r in results:
        if r.ok:
            continue
        project = Path(projects[path])
        modules = [f.subject for f in (r.packages.findings if r.packages else []) if "/" in f.subject]
        file, line = module_place(project, modules[0]) if modules else (shown(project / "go.mod"), 1)
        said = r.fatal or "; ".join(c.detail for c in r.checks if not c.ok) or r.packages_summary
        found.append(Annotation("error", f"{path.name} does not load ({target.name}): {said}", file, line,
                                title=f"test {path.name}"))
    return found


def smoke_annotations(report: SmokeReport, settings: Settings) -> list[Annotation]:
    """A failed spec on its file (a [[smoke]] request on its table in the settings file)."""

    found = []
    own = settings.project / "krakend-tasks.toml"
    file = own if own.exists() else settings.project / "pyproject.toml"
    table = "smoke" if own.exists() else "tool.krakend-tasks.smoke"
    for v in report.outcomes:
        if v.ok:
            continue
        if v.spec.source.startswith("[[smoke]] #"):
            index = int(v.spec.source.rsplit("#", 1)[1])
            place = (shown(file), toml_table_line(file, table, index))
        else:
            place = (shown(Path(v.spec.source)), 1)
        found.append(Annotation("error", "; ".join(v.problems), *place, title=f"smoke {v.spec.name}: "
                                f"{v.spec.request}"))
    found += [Annotation("error", problem, shown(settings.project / "krakend.json"), 1, title="smoke")
              for problem in report.problems]
    return found


def bench_annotations(report: BenchReport, config: Any) -> list[Annotation]:
    """An error on the config when the plugins are over budget (or the arms' errors differ), a warning
    when the verdict is inconclusive."""

    if report.verdict not in ("fail", "inconclusive"):
        return []
    level = "error" if report.verdict == "fail" else "warning"
    return [Annotation(level, "; ".join(report.reasons), shown(config), 1,
                       title=f"bench {', '.join(report.plugins)}: {report.verdict}")]


def explain_annotations(reading: Reading, log: str | None) -> list[Annotation]:
    """An annotation per explained line that says something went wrong, on the log's line when it is a file."""

    return [Annotation("error" if e.severity == "error" else "warning", f"{e.cause}. Fix: {e.fix}" if e.fix
                       else e.cause, log, e.number if log else None, title=f"explain: {e.kind}")
            for e in reading.explained if e.severity != "info"]

