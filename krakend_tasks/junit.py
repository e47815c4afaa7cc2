"""JUnit XML, the test report CI systems show (GitHub, GitLab, Jenkins): a testsuite per command and
target, a testcase per spec, plugin or artifact, written atomically."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

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
