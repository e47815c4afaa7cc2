"""CI-native results: GitHub annotations on the right file and line (checked against the real go.mod,
the real compiler's output and the spec files), and JUnit XML read back with a JUnit parser."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from krakend_tasks.annotations import Annotation, workflow_command
from krakend_tasks.core.krakend.releases import resolve
from krakend_tasks.core.project.settings import load_settings
from krakend_tasks.core.workflows.scaffold import new

from .conftest import PYTHON, ROOT, VERSION, build_in, copy_example, run

COMMAND = re.compile(r"^::(?P<level>error|warning|notice) (?P<props>[^:]*)::(?P<message>.*)$")


def unescape(text: str) -> str:
    return text.replace("%0A", "\n").replace("%0D", "\r").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")


def annotations(stdout: str) -> list[dict]:
    """Every workflow command of an output, its properties and message unescaped."""
    found = []
    for line in stdout.splitlines():
        if not line.startswith("::"):
            continue
        m = COMMAND.match(line)
        assert m, line
        props = dict(p.split("=", 1) for p in m["props"].split(","))
        found.append({"level": m["level"], **{k: unescape(v) for k, v in props.items()},
                      "message": unescape(m["message"])})
    return found


def test_values_are_escaped_so_that_no_message_starts_a_second_command():
    line = workflow_command(Annotation("error", "100% broken\n::error::injected\r", "a,b:c.go", 3, 4, "t: x, y"))
    assert "\n" not in line and "\r" not in line  # one line: GitHub reads a command only at a line's start
    assert line == "::error file=a%2Cb%3Ac.go,line=3,col=4,title=t%3A x%2C y::100%25 broken%0A::error::injected%0D"
    [parsed] = annotations(line)
    assert parsed["file"] == "a,b:c.go" and parsed["message"] == "100% broken\n::error::injected\r"


def test_check_annotates_each_module_on_its_line_of_go_mod(tmp_path):
    project = tmp_path / "stale"
    shutil.copytree(ROOT / "tests" / "data" / "plugin-stale-sum", project)
    out = run([PYTHON, "-m", "krakend_tasks", "check", "--version", VERSION, "--target", "amd64-generic",
               "--format", "github"], project)
    assert out.returncode == 1, out.stderr
    found = annotations(out.stdout)
    assert found, out.stdout
    lines = (project / "go.mod").read_text().splitlines()
    for a in found:
        module = a["message"].split(":", 1)[0]
        assert a["file"] == "go.mod" or a["file"] == "go.sum"
        text = (project / a["file"]).read_text().splitlines()[int(a["line"]) - 1]
        assert module in text, (a, text)
        assert a["title"].startswith("check amd64-generic: KrakenD")
    assert any(a["message"].startswith("github.com/google/uuid: the plugin has v1.5.0") for a in found)
    assert any(lines[int(a["line"]) - 1].strip().startswith("github.com/google/uuid") for a in found)
    # inside GitHub Actions the format chooses itself
    auto = run([PYTHON, "-m", "krakend_tasks", "check", "--version", VERSION, "--target", "amd64-generic"], project,
               env={"GITHUB_ACTIONS": "true"})
    assert annotations(auto.stdout) == found


def test_check_and_test_write_junit_that_a_junit_parser_reads(tmp_path, cross):
    from junitparser import Failure, JUnitXml

    project = copy_example(tmp_path / "hello")
    build_in(load_settings(project, engine="local", version=VERSION, targets="amd64-generic"))
    out = run([PYTHON, "-m", "krakend_tasks", "test-load", "--version", VERSION, "--target", "amd64-generic", "--junit",
               str(tmp_path / "test.xml")], project)
    assert out.returncode == 0, out.stderr
    [suite] = JUnitXml.fromfile(str(tmp_path / "test.xml"))
    assert suite.name == "test amd64-generic" and suite.tests == 1 and suite.failures == 0
    assert [case.name for case in suite] == [f"hello-{VERSION}-amd64-generic.so"]

    stale = tmp_path / "stale"
    shutil.copytree(ROOT / "tests" / "data" / "plugin-stale-sum", stale)
    out = run([PYTHON, "-m", "krakend_tasks", "check", "--version", VERSION, "--target", "amd64-generic", "--junit",
               str(tmp_path / "check.xml")], stale)
    assert out.returncode == 1
    [suite] = JUnitXml.fromfile(str(tmp_path / "check.xml"))
    failed = {case.name: [r for r in case.result if isinstance(r, Failure)] for case in suite}
    assert failed["github.com/google/uuid"][0].message.startswith("have v1.5.0, want v1.6.0")

    for bad in (tmp_path / "nowhere" / "x.xml", tmp_path):
        out = run([PYTHON, "-m", "krakend_tasks", "check", "--junit", str(bad)], stale)
        assert out.returncode == 2 and "--junit" in out.stderr and "Traceback" not in out.stderr, out.stderr


def test_build_annotates_the_compilers_errors_on_their_lines(tmp_path, cross):
    project = copy_example(tmp_path / "hello")
    (project / "broken.go").write_text("package main\n\nfunc broken() {\n\tundefined_name()\n}\n")
    out = run([PYTHON, "-m", "krakend_tasks", "build", "--engine", "local", "--target", "amd64-generic",
               "--format", "github"], project)
    assert out.returncode == 6
    [a] = annotations(out.stdout)
    assert (a["file"], a["line"], a["col"], a["message"]) == ("broken.go", "4", "2", "undefined: undefined_name")
    assert "./broken.go:4:2: undefined: undefined_name" in out.stderr  # what the compiler said


def test_test_annotates_a_refused_load_on_the_modules_line(tmp_path, cross):
    from .test_smoke import foreign_build

    project = copy_example(tmp_path / "hello")
    build_in(load_settings(project, engine="local", version=VERSION, targets="amd64-generic"))
    foreign_build(project, tmp_path)
    out = run([PYTHON, "-m", "krakend_tasks", "test-load", "--target", "amd64-generic", "--format", "github"], project)
    assert out.returncode == 1
    [a] = annotations(out.stdout)
    text = (project / a["file"]).read_text().splitlines()[int(a["line"]) - 1]
    assert a["file"] == "go.mod" and "github.com/google/uuid" in text, (a, text)
    assert "does not load" in a["message"]


def test_smoke_annotates_a_failed_spec_on_its_file(tmp_path, krakend_bins):
    project = tmp_path / "annotated"
    new(project, "server", release=resolve(VERSION))
    build_in(load_settings(project, engine="local", targets="amd64-generic"))
    spec = project / "specs" / "server.json"
    data = json.loads(spec.read_text())
    data["out"]["status_code"] = 201
    spec.write_text(json.dumps(data))
    with (project / "krakend-tasks.toml").open("a") as f:
        f.write('\n[[smoke]]\npath = "/nowhere"\n')
    out = run([PYTHON, "-m", "krakend_tasks", "smoke", "--krakend-bin", str(krakend_bins["amd64-generic"]),
               "--format", "github"], project)
    assert out.returncode == 1
    found = {a["title"]: a for a in annotations(out.stdout)}
    assert found["smoke server: GET /__annotated"]["file"] == "specs/server.json"
    assert found["smoke server: GET /__annotated"]["message"] == "unexpected status code. have: 200, want: 201"
    toml = found["smoke smoke-2: GET /nowhere"]
    assert toml["file"] == "krakend-tasks.toml"
    lines = (project / "krakend-tasks.toml").read_text().splitlines()
    assert lines[int(toml["line"]) - 1] == "[[smoke]]" and lines[int(toml["line"])] == 'path = "/nowhere"'


@pytest.mark.parametrize("command", ["check", "build", "test-load", "inspect", "smoke"])
def test_every_command_offers_the_github_format(command):
    from krakend_tasks.options import BY_NAME

    [option] = [o for o in BY_NAME[command].options if o.name == "format"]
    assert "github" in option.choices
