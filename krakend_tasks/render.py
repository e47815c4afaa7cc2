"""Rendering of core results: rich tables for people, JSON for machines. No computing here. (Live
status: live.py; GitHub annotations: annotations.py; JUnit suites: junit.py.)"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from krakend_tasks import logs

if TYPE_CHECKING:
    from pathlib import Path

    from krakend_tasks.core.findings import Finding
    from krakend_tasks.core.golang.elf import ElfFile
    from krakend_tasks.core.project.manifest import Artifact
    from krakend_tasks.core.serving.bench import BenchReport
    from krakend_tasks.core.serving.smoke import SmokeReport
    from krakend_tasks.core.serving.specs import Verdict
    from krakend_tasks.core.targets import Target
    from krakend_tasks.core.verifying.check import Report
    from krakend_tasks.core.verifying.explain import Reading
    from krakend_tasks.core.verifying.testload import LoadResult


JSON_VERSION = 1  # the shape of every --json document: its "version" key (docs/sessions-and-tasks.md, Output)


def as_json(value: Any) -> str:
    return json.dumps(plain(value), indent=2, default=str)


def document(**body: Any) -> str:
    """A --json document: its shape's version, then the body."""
    return as_json({"version": JSON_VERSION, **body})


def plain(value: Any) -> Any:
    """JSON's types for `value`: a record (a NamedTuple) becomes an object of its fields, a set a
    sorted list, all the way down; anything else JSON lacks (a Path) becomes its text later."""
    if hasattr(value, "_fields"):
        return {name: plain(item) for name, item in zip(value._fields, value, strict=True)}
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(plain(item) for item in value)
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def print_artifacts(artifacts: Sequence[Artifact], as_machine: bool = False, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    if as_machine:
        out.write(document(artifacts=list(artifacts)) + "\n")
        return
    header = ("target", "file", "KrakenD", "Go", "size", "engine", "seconds", "sha256")
    rows = [(a.target, a.path, a.krakend, a.go, str(a.size), a.engine, f"{a.duration:.1f}", a.sha256[:12])
            for a in artifacts]
    print_table("KrakenD plugin artifacts", header, rows, out)


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]], out: TextIO) -> None:
    """A rich table on a terminal (or with FORCE_COLOR), tab-separated lines elsewhere (logs, pipes, CI)."""
    if not out.isatty() and not logs.colour(out):
        out.writelines("\t".join(row) + "\n" for row in [(title,), header, *rows])
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in header:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    Console(file=out).print(table)


def krakend_text(report: Report, fix: bool = False) -> str:
    """KrakenD's check-plugin output (2.7.1+), byte for byte; `fix` is its -f form."""
    lines = []
    for diff in report.diffs:
        if fix and diff.is_module:
            lines.append(report.krakend_fix(diff))
        else:
            lines += [diff.name, f"\thave: {diff.have}", f"\twant: {diff.want}"]
    lines.append(f"{len(report.diffs)} incompatibilities found" if report.diffs else "No incompatibilities found!")
    return "\n".join(lines) + "\n"


def check_json(reports: dict[str, Report]) -> str:
    return document(reports={target: {
        "ok": r.ok, "krakend_source": r.krakend.source, "krakend_go": r.krakend.go, "krakend_libc": r.krakend.libc,
        "plugin_go": r.plugin.go, "plugin_libc": r.plugin.libc,
        "diffs": [{"name": d.name, "have": d.have, "want": d.want, "direction": d.direction,
                   "fix": r.fix(d) if d.is_module else None} for d in r.diffs],
        "findings": r.findings,
    } for target, r in reports.items()})


def print_check(reports: dict[str, Report], out: TextIO | None = None) -> None:
    """A table per target for people: what differs, which way to move, and the fix."""
    out = out or sys.stdout
    for target, r in reports.items():
        title = f"{target}: {'compatible' if r.ok else 'INCOMPATIBLE'} with KrakenD ({r.krakend.source})"
        rows = [(d.name, d.have or "(empty)", d.want, d.direction, r.fix(d) if d.is_module else "")
                for d in r.diffs]
        fixed = {d.name for d in r.diffs}  # one fix per module: a finding about it adds its reason only
        rows += [(f.subject, f.severity, "", "", f.message if f.subject in fixed else f.with_fix)
                 for f in r.findings]
        print_table(title, ("what", "plugin has", "KrakenD has", "plugin must", "fix"), rows, out)


def print_inspection(results: list[tuple[ElfFile, Target, list[Finding]]], as_machine: bool = False,
                     out: TextIO | None = None) -> None:
    """results: (ElfFile, Target, [Finding]) per plugin."""
    out = out or sys.stdout
    records: list[dict[str, Any]] = [{  # a JSON document
        "path": str(elf.path), "target": target.name, "arch": elf.arch, "elf_class": elf.elf_class,
        "libc": elf.libc, "glibc_max": elf.glibc_max, "needed": list(elf.needed),
        "go_plugin": bool(elf.build_info and elf.build_info.settings.get("-buildmode") == "plugin"),
        "go": elf.build_info.go if elf.build_info else None,
        "main": elf.build_info.path if elf.build_info else None,
        "modules": elf.build_info.versions() if elf.build_info else {},
        "registerers": list(elf.registerers), "findings": findings,
    } for elf, target, findings in results]
    if as_machine:
        out.write(document(plugins=records) + "\n")
        return
    for r in records:
        rows = [(key, str(r[key])) for key in ("target", "arch", "libc", "glibc_max", "go_plugin", "go", "main")]
        rows += [("registerers", ", ".join(r["registerers"]) or "none"), ("modules", str(len(r["modules"])))]
        rows += [(f"{f.severity}: {f.subject}", f.with_fix) for f in r["findings"]]
        print_table(r["path"], ("property", "value"), rows, out)


PROVES = {"Go loader": "opened by a Go loader of KrakenD's Go and target: proves Go version, architecture, libc "
                        "and registerers; the PACKAGES row says whether KrakenD's own packages accept it",
          "symbols": "not loaded: its exported symbols decide"}


def packages_state(result: LoadResult) -> str:
    """OK, KO, or NOT COMPARED: the package fingerprints of a load result against KrakenD's."""
    return "NOT COMPARED" if result.packages is None else "OK" if result.packages.ok else "KO"


def print_loads(results: list[tuple[Path, Target, LoadResult]], as_machine: bool = False,
                out: TextIO | None = None) -> None:
    """results: (path, Target, LoadResult) per plugin."""
    out = out or sys.stdout
    if as_machine:
        out.write(document(plugins=[{
            "path": str(p), "target": t.name, "ok": r.ok, "fatal": r.fatal, "checks": r.checks, "loader": r.loader,
            "packages": {"state": packages_state(r), "summary": r.packages_summary,
                         "shared": r.packages.shared if r.packages else None,
                         "error": r.packages.error if r.packages else None,
                         "mismatches": list(r.packages.mismatches) if r.packages else [],
                         "findings": list(r.packages.findings) if r.packages else []},
        } for p, t, r in results]) + "\n")
        return
    rows = []
    for path, target, result in results:
        for c in result.checks:
            rows.append((target.name, str(path), c.kind, "OK" if c.ok else "KO", c.detail))
        if result.fatal or not result.checks:
            rows.append((target.name, str(path), "LOADER", "KO", _one_line(result.fatal or result.output)))
        rows.append((target.name, str(path), "PACKAGES", packages_state(result), result.packages_summary))
        for f in result.packages.findings if result.packages else ():
            rows.append((target.name, str(path), f"  {f.subject}", f.severity, f.with_fix))
    loaders = sorted({r.loader for _, _, r in results})
    title = "test-load: " + "; ".join(PROVES.get(name, f"loaded by {name}") for name in loaders)
    print_table(title, ("target", "plugin", "check", "result", "detail"), rows, out)


def print_smoke(report: SmokeReport, as_machine: bool = False, out: TextIO | None = None) -> None:
    """Each spec, its request, KrakenD's verdict, what differed and how long it took; then what went wrong."""
    out = out or sys.stdout
    if as_machine:
        out.write(document(**{"ok": report.ok, "krakend": report.krakend, "target": report.target.name,
                           "plugins": report.plugins, "ready_seconds": report.ready_seconds,
                           "specs": [_verdict(v) for v in report.outcomes]
                           + [{"name": s.name, "source": s.source, "request": s.request, "ok": False,
                               "sent": False} for s in report.specs[len(report.outcomes):]],
                           "problems": report.problems, "log": report.log}) + "\n")
        return
    rows = []
    for v in report.outcomes:
        got = "no answer" if v.answer.status is None else f"{v.answer.status} {v.excerpt}"
        rows.append((v.spec.name, v.spec.request, "OK" if v.ok else "KO", f"{v.answer.seconds * 1000:.0f} ms",
                     _one_line("; ".join(p.replace("\n\t\t", " ") for p in v.problems) or got, 120)))
    for s in report.specs[len(report.outcomes):]:
        rows.append((s.name, s.request, "KO", "", "not sent"))
    if not report.specs:
        rows.append(("(no spec declared)", "plugins registered, /__health", "OK" if report.ok else "KO", "", ""))
    ready = f", ready in {report.ready_seconds * 1000:.0f} ms" if report.ready_seconds is not None else ""
    title = f"smoke: {', '.join(report.plugins)} ({report.target.name}) in {report.krakend}{ready}"
    print_table(title, ("spec", "request", "result", "time", "detail"), rows, out)
    if not report.ok:
        failed = [f"{v.spec.name} ({v.spec.source}): {problem}" for v in report.outcomes for problem in v.problems]
        answers = [f"{v.spec.name}: the answer was {v.answer.status}: {v.excerpt}" for v in report.outcomes
                   if v.problems and v.answer.status is not None and v.excerpt]
        print_lines("smoke run failed:", [*report.problems, *failed, *answers], out)
        if report.log:
            print_lines("KrakenD's log (the lines about the plugins and errors):", report.log, out)


def _verdict(v: Verdict) -> dict[str, Any]:
    return {"name": v.spec.name, "source": v.spec.source, "request": v.spec.request, "ok": v.ok, "sent": True,
            "status": v.answer.status, "seconds": round(v.answer.seconds, 4), "problems": list(v.problems),
            "excerpt": v.excerpt}


def _one_line(text: str, limit: int = 200) -> str:
    """A loader's crash output in one table cell: its first meaningful line."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    telling = [line for line in lines if line.startswith(("fatal error", "panic", "[KO]"))]
    return (telling or lines or [""])[0][:limit]


def print_matrix(matrix: dict[str, Any], as_machine: bool = False, out: TextIO | None = None) -> None:
    """JSON on one line (for $GITHUB_OUTPUT), or a table."""
    out = out or sys.stdout
    if as_machine:
        out.write(json.dumps(matrix, separators=(",", ":")) + "\n")
        return
    header = ("target", "image", "runner", "build_session", "test_session", "krakend_image")
    print_table("CI matrix", header, [tuple(row[k] for k in header) for row in matrix["include"]], out)


def print_lines(title: str, lines: Sequence[str], out: TextIO | None = None) -> None:
    """A titled list: what configure changed, the files new wrote, the problems found."""
    (out or sys.stdout).write("".join([f"{title}\n", *(f"  {line}\n" for line in lines)]))


def go_duration(seconds: float) -> str:
    """A duration as Go's time.Duration.String() prints it (13.498341ms, 1.5s, 2m3.1s)."""
    ns = round(seconds * 1e9)
    if ns < 1000:
        return f"{ns}ns" if ns else "0s"
    if ns < 10**6:
        return _trim(f"{ns / 1e3:.3f}") + "µs"
    if ns < 10**9:
        return _trim(f"{ns / 1e6:.6f}") + "ms"
    hours, rest = divmod(ns, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "") + \
        _trim(f"{rest / 1e9:.9f}") + "s"


def _trim(number: str) -> str:
    return number.rstrip("0").rstrip(".") if "." in number else number


# bench --------------------------------------------------------------------------------------------

def bench_document(report: BenchReport) -> dict[str, Any]:
    """bench's --json body: both arms, the overhead of each figure with its 95% interval, the verdict."""
    def rounded(value: Any) -> Any:
        return round(value, 4) if isinstance(value, float) else value

    overhead: dict[str, Any] = {}
    for figure, o in report.overhead.items():
        overhead[figure] = rounded(o.value)
        overhead[f"{figure}_interval"] = [rounded(o.low), rounded(o.high)]
    return {"krakend": report.krakend, "target": report.target.name, "plugins": report.plugins,
            "baseline": report.baseline, "rate": report.rate, "duration_s": report.duration,
            "rounds": len({r.number for r in report.rounds}), "requests": report.requests,
            "left_out": report.left_out, "thrown_out": report.thrown_out,
            "arms": {name: {k: rounded(v) for k, v in arm.items()} for name, arm in report.arms.items()},
            "overhead": overhead, "budget": report.budget.text if report.budget else None,
            "verdict": report.verdict, "reasons": list(report.reasons)}


def print_bench(report: BenchReport, as_machine: bool = False, out: TextIO | None = None) -> None:
    """The two arms, the overhead with its interval and the verdict; then both latency distributions."""
    from krakend_tasks.plots import histogram

    out = out or sys.stdout
    if as_machine:
        out.write(document(**bench_document(report)) + "\n")
        return
    base, plug = report.arms["baseline"], report.arms["plugin"]
    labels = {"p50_ms": "p50 (ms)", "p90_ms": "p90 (ms)", "p99_ms": "p99 (ms)", "max_ms": "max (ms)",
              "rps": "answers/s", "cpu_us_per_request": "KrakenD CPU/request (us)", "rss_mb": "KrakenD memory (MB)"}
    rows = []
    for figure, label in labels.items():
        o = report.overhead.get(figure)
        rows.append((label, _figure(base.get(figure)), _figure(plug.get(figure)),
                     f"{o.value:+.3f}" if o else "", f"[{o.low:+.3f}, {o.high:+.3f}]" if o else ""))
    rows.append(("errors", _errors(base), _errors(plug), "", ""))
    rounds = len({r.number for r in report.rounds})
    title = (f"bench: {', '.join(report.plugins)} ({report.target.name}) in {report.krakend}, {report.rate} "
             f"requests/s, {rounds} rounds of {report.duration:g} s per arm")
    print_table(title, ("figure", "baseline", "plugin", "overhead", "95% interval"), rows, out)
    print_lines("requests (round-robin):", report.requests, out)
    if report.left_out or report.thrown_out:
        print_lines("left out:", [*report.left_out, *report.thrown_out], out)
    print_lines("latency (share of each arm's requests):",
                histogram({"baseline": report.samples("baseline"), "plugin": report.samples("plugin")}), out)
    if report.verdict:
        print_lines(f"verdict: {report.verdict}" + (f" (budget {report.budget.text})" if report.budget else ""),
                    list(report.reasons), out)


def _figure(value: Any) -> str:
    return "" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def _errors(arm: Mapping[str, Any]) -> str:
    from krakend_tasks.core.serving.bench import describe_errors

    return describe_errors(arm["errors"]) or "none"


# explain ------------------------------------------------------------------------------------------

def print_explained(reading: Reading, as_machine: bool = False, out: TextIO | None = None) -> None:
    """Each plugin line of the log, its cause, its fix and the command that proves it."""
    out = out or sys.stdout
    read = (f"{reading.lines} lines read" + (f", {reading.cut_lines} cut at 64 KiB" if reading.cut_lines else "")
            + (", the log's first 256 MiB only" if reading.truncated else "")
            + (" (binary data: this is not a text log)" if reading.binary else ""))
    if as_machine:
        out.write(document(read={"lines": reading.lines, "bytes": reading.read_bytes, "cut_lines": reading.cut_lines,
                                 "truncated": reading.truncated, "binary": reading.binary},
                           failed=reading.failed, explained=[e._asdict() for e in reading.explained]) + "\n")
        return
    if not reading.explained:
        print_lines(f"explain: no line about plugins that says something went wrong ({read})", [], out)
        return
    print_lines(f"explain: {len(reading.explained)} line(s) about plugins ({read})", [], out)
    for e in reading.explained:
        said = [f"cause: {e.cause}"] + ([f"fix: {e.fix}"] if e.fix else []) + (
            [f"proof: {e.proof}"] if e.proof else []) + [f"  {d}" for d in e.details]
        more = f" (and {e.repeats} more line(s) like it)" if e.repeats else ""
        print_lines(f"line {e.number} [{e.severity}, {e.kind}]{more}: {_one_line(e.line, 300)}", said, out)


