"""Output levels: log lines tagged by kind, shown by --quiet / --verbose, coloured by NO_COLOR and
FORCE_COLOR; from the command line and from each adapter, with real builds on the host."""

import io

import pytest

from krakend_tasks import logs
from krakend_tasks.engines.job import OutputTail

from .conftest import PYTHON, run
from .test_adapters import user_project  # noqa: F401  (the fixture)

BUILD = [PYTHON, "-m", "krakend_tasks", "build", "--engine", "local", "--target", "amd64-generic"]


def test_a_kind_travels_with_its_line_through_any_log():
    lines: list[str] = []
    OutputTail(lines.append)(logs.warning("look"))  # a list's append is a log too
    assert lines == ["look"] and logs.kind_of(lines[0]) == "warning" and logs.kind_of("plain") == "notice"


@pytest.mark.parametrize(("env", "coloured"), [
    ({}, False), ({"FORCE_COLOR": "1"}, True), ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False)])
def test_colour_follows_no_color_and_force_color(monkeypatch, capsys, env, coloured):
    for name in ("FORCE_COLOR", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    logs.to_stderr(logs.warning("warning: careful"))
    said = capsys.readouterr().err
    assert ("\x1b[33mwarning: careful\x1b[0m" in said) is coloured and "warning: careful" in said
    assert logs.colour(io.StringIO()) is coloured


def test_levels_from_the_command_line(example, cross):
    normal = run(BUILD, example)
    assert normal.returncode == 0, normal.stderr
    assert "[amd64-generic] building with local engine" in normal.stderr and "$ go build" not in normal.stderr
    quiet = run([*BUILD, "-q"], example)
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    assert "amd64-generic" in quiet.stdout  # the results are not log lines
    verbose = run([*BUILD, "--verbose"], example)
    assert verbose.returncode == 0, verbose.stderr
    assert "$ go build -buildmode=plugin" in verbose.stderr and "building with local engine" in verbose.stderr
    both = run([*BUILD, "-q", "-v"], example)
    assert both.returncode == 2 and "--quiet and --verbose: give one of them" in both.stderr


def test_quiet_keeps_a_failed_builds_output_with_its_error(example, cross):
    main = example / "main.go"
    main.write_text(main.read_text() + "\nfunc broken() { undefinedThing() }\n")
    out = run([*BUILD, "--quiet"], example)
    assert out.returncode == 6, out.stderr
    assert "undefined: undefinedThing" in out.stderr and "go build failed" in out.stderr
    assert "building with" not in out.stderr


def test_quiet_and_verbose_from_nox_and_invoke(user_project, cross):  # noqa: F811
    nox = run([PYTHON, "-m", "nox", "-s", "build_amd64_generic", "--", "--engine", "local", "-q"], user_project)
    assert nox.returncode == 0, nox.stderr
    assert "building with" not in nox.stderr
    invoke = run([PYTHON, "-m", "invoke", "krakend.build", "--target", "amd64-generic", "--engine", "local",
                  "--verbose"], user_project)
    assert invoke.returncode == 0, invoke.stderr
    assert "$ go build -buildmode=plugin" in invoke.stderr
