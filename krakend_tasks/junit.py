"""JUnit XML, the test report CI systems show (GitHub, GitLab, Jenkins): a testsuite per command and
target, a testcase per spec, plugin or artifact, written atomically."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from krakend_tasks.core.serving.bench import BenchReport
    from krakend_tasks.core.serving.smoke import SmokeReport
    from krakend_tasks.core.targets import Target
    from krakend_tasks.core.verifying.check import Report
    from krakend_tasks.core.verifying.testload import LoadResult

from krakend_tasks.core.files import write_atomic
from krakend_tasks.errors import ConfigError

NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # characters XML 1.0 cannot hold


class Case(NamedTuple):
    name: str
    classname: str
    seconds: float = 0.0
    failure: str | None = None  # the message; None when it passed
    details: str = ""  # the failure's text: everything that went wrong
    skipped: str | None = None  # why it was not judged
    output: str = ""  # system-out: what came back


class Suite(NamedTuple):
    name: str
    cases: Sequence[Case]


def writable(path: Path, option: str = "--junit") -> Path:
    """`path` when a report can be written there; a ConfigError before any work otherwise."""
    folder = path.parent
    if path.is_dir():
        example = "reports/bench.svg" if option == "--plot" else "reports/smoke.xml"
        raise ConfigError(f"{option} {path}: is a folder", hint=f"name a file, e.g. {option} {example}")
    if not folder.is_dir():
        raise ConfigError(f"{option} {path}: the folder {folder} does not exist",
                          hint=f"create it first (mkdir -p {folder}), or name a file in an existing folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"{option} {path}: the folder {folder} cannot be written",
                          hint="name a file in a folder you can write")
    return path


def write_junit(path: Path, suites: Sequence[Suite]) -> None:
    import xml.etree.ElementTree as ET

    root = ET.Element("testsuites", tests=str(sum(len(s.cases) for s in suites)),
                      failures=str(sum(c.failure is not None for s in suites for c in s.cases)))
    for suite in suites:
        element = ET.SubElement(root, "testsuite", name=_text(suite.name), tests=str(len(suite.cases)),
                                failures=str(sum(c.failure is not None for c in suite.cases)), errors="0",
                                skipped=str(sum(c.skipped is not None for c in suite.cases)),
                                time=f"{sum(c.seconds for c in suite.cases):.3f}")
        for case in suite.cases:
            node = ET.SubElement(element, "testcase", name=_text(case.name), classname=_text(case.classname),
                                 time=f"{case.seconds:.3f}")
            if case.failure is not None:
                ET.SubElement(node, "failure", message=_text(case.failure)).text = _text(case.details or case.failure)
            if case.skipped is not None:
                ET.SubElement(node, "skipped", message=_text(case.skipped))
            if case.output:
                ET.SubElement(node, "system-out").text = _text(case.output)
    ET.indent(root)
    write_atomic(path, ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n")


def _text(value: str) -> str:
    return NOT_XML.sub("\ufffd", value)


# Each command's results as suites ----------------------------------------------------------------

def check_suites(reports: dict[str, Report]) -> list[Suite]:
    return [Suite(f"check {key}", [Case(f"{d.name}", f"check.{key}", failure=f"have {d.have or '(empty)'}, want "
                                        f"{d.want}", details=r.fix(d) if d.is_module else "") for d in r.diffs]
                  + [Case(f.subject, f"check.{key}", failure=f.message if f.severity == "error" else None,
                          details=f.with_fix) for f in r.findings]
                  or [Case("compatible", f"check.{key}")]) for key, r in reports.items()]


def load_suites(results: list[tuple[Path, Target, LoadResult]]) -> list[Suite]:
    by_target: dict[str, list[Case]] = {}
    for path, target, r in results:
        said = r.fatal or "; ".join(c.detail for c in r.checks if not c.ok) or r.packages_summary
        by_target.setdefault(target.name, []).append(Case(
            path.name, f"test.{target.name}", failure=None if r.ok else said, details=r.output or said,
            skipped="packages not compared with KrakenD's" if r.ok and r.packages is None else None))
    return [Suite(f"test {target}", cases) for target, cases in by_target.items()]


def smoke_suite(report: SmokeReport) -> Suite:
    """The smoke run as a JUnit testsuite: a testcase per spec (one for the plugins when none is declared)."""
    name = f"smoke {report.target.name}"
    cases = [Case(v.spec.name, f"smoke.{report.target.name}", v.answer.seconds,
                  None if v.ok else v.problems[0].split("\n")[0], "\n".join(v.problems),
                  output=f"{v.spec.source}: {v.spec.request} -> {v.answer.status}: {v.excerpt}")
             for v in report.outcomes]
    cases += [Case(s.name, f"smoke.{report.target.name}", failure="not sent: " + "; ".join(report.problems))
              for s in report.specs[len(report.outcomes):]]
    if not report.specs:
        cases.append(Case("plugins registered", f"smoke.{report.target.name}",
                          failure=None if report.ok else "; ".join(report.problems) or "failed",
                          details="\n".join([*report.problems, *report.log])))
    return Suite(name, cases)


def bench_suite(report: BenchReport) -> Suite:
    """bench as a JUnit testsuite: one testcase, the verdict (skipped without a budget)."""
    lines = "\n".join(report.reasons)
    name = f"overhead within {report.budget.text}" if report.budget else "overhead"
    case = Case(name, f"bench.{report.target.name}", failure="over budget" if report.verdict == "fail" else None,
                details=lines, skipped=None if report.verdict in ("pass", "fail") else
                ("inconclusive: " + lines if report.verdict else "no budget (--max-overhead)"),
                output=_bench_document(report)["overhead"].__repr__())
    return Suite(f"bench {report.target.name}", [case])


def _bench_document(report: BenchReport) -> dict[str, Any]:
    from krakend_tasks.render import bench_document

    return bench_document(report)
