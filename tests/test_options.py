"""One option surface: every command x adapter (nox, invoke, the CLI) x option, help, bad options,
and the drop-in `check-plugin` / `test-plugin` against KrakenD's own text."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from krakend_tasks import cli, commands, logs
from krakend_tasks import nox as kt_nox
from krakend_tasks.invoke import collection
from krakend_tasks.options import BY_NAME, COMMANDS, OUTPUT, Command, Option, markdown

from .conftest import EXAMPLE, PYTHON, ROOT, VERSION, build_in, copy_example, krakend, run

SESSIONS = {c.name: c.session_name for c in COMMANDS}


def sample(option: Option) -> tuple[list[str], Any, list[str]]:
    """(the option on a command line, the value the command must receive, trailing arguments)."""
    if option.takes == "bool":
        return [option.flag], True, []
    if option.takes == "switch":
        return [f"--no-{option.name}"], False, []
    if option.takes == "int":
        return [option.flag, "3"], 3, []
    if option.takes == "float":
        return [option.flag, "2.5"], 2.5, []
    if option.takes == "list":
        values = list(option.choices[:2]) if option.choices else ["a.so", "b.so"]
        if option.positional:
            return [], values, values
        return [x for v in values for x in (option.flag, v)], values, []
    value = option.choices[-1] if option.choices else f"value-of-{option.name}"
    return [option.flag, value], value, []


@pytest.fixture
def recorded(monkeypatch) -> dict[str, dict[str, Any]]:
    """Replace each commands function by a recorder of the keywords it receives (the adapters'
    translation is what these tests prove; the commands themselves are tested for real elsewhere)."""
    calls: dict[str, dict[str, Any]] = {}
    monkeypatch.setattr(logs, "level", logs.NORMAL)  # --quiet / --verbose set it: restored after
    for command in COMMANDS:
        def record(*args: Any, _name: str = command.name, **kwargs: Any) -> int:
            calls[_name] = kwargs
            return 0
        monkeypatch.setattr(commands, command.function, record)
    return calls


class FakeSession:
    """The part of nox.Session our sessions use: posargs, name, error (raises), as nox's does."""

    def __init__(self, name: str, posargs: list[str]) -> None:
        self.name, self.posargs = name, posargs

    def error(self, *args: Any) -> None:
        raise RuntimeError(" ".join(map(str, args)))


def through_nox(command: Command, argv: list[str]) -> None:
    spec = next(s for s in kt_nox.specs() if s.name == SESSIONS[command.name])
    kt_nox._session(spec.name, spec, ".", {})(FakeSession(spec.name, argv))


def through_invoke(command: Command, argv: list[str]) -> None:
    from invoke import Program

    Program(namespace=collection(project="."), name="t").run(["t", command.name, *argv], exit=False)


def through_cli(command: Command, argv: list[str]) -> None:
    assert cli.run([command.name, *argv]) == 0


ADAPTERS = {"nox": through_nox, "invoke": through_invoke, "cli": through_cli}
CASES = [(c, o) for c in COMMANDS for o in c.all_options()]


@pytest.mark.parametrize("adapter", list(ADAPTERS))
@pytest.mark.parametrize(("command", "option"), CASES, ids=[f"{c.name}-{o.name}" for c, o in CASES])
def test_every_option_reaches_its_command(recorded, adapter, command, option):
    flags, value, trailing = sample(option)
    if option.positional and adapter == "invoke":  # invoke takes trailing paths as a repeated option
        flags, trailing = [x for v in value for x in (option.flag, v)], []
    ADAPTERS[adapter](command, [*flags, *trailing])
    received = recorded[command.name]
    if option in OUTPUT:  # taken by commands.run: the level of the run's log lines
        assert logs.level == {"quiet": logs.QUIET, "verbose": logs.VERBOSE}[option.name], adapter
        assert option.keyword not in received
        return
    assert received.get(option.keyword) == value, (adapter, received)


SWITCHES = [(c, o) for c, o in CASES if o.takes == "switch"]


@pytest.mark.parametrize("adapter", list(ADAPTERS))
@pytest.mark.parametrize(("command", "option"), SWITCHES, ids=[f"{c.name}-{o.name}" for c, o in SWITCHES])
def test_every_switch_works_both_ways(recorded, adapter, command, option):
    """--x is True, --no-x False, neither leaves the command's default (None), from every adapter."""
    for flags, value in (([option.flag], True), ([f"--no-{option.name}"], False), ([], None)):
        recorded.clear()
        ADAPTERS[adapter](command, flags)
        assert recorded[command.name].get(option.keyword) == value, (adapter, flags, recorded)


def test_invoke_ship_build_both_ways_for_real(tmp_path, cross):
    """`invoke ship --build` with no daemon fails naming it; --no-build writes the Dockerfile only."""
    from krakend_tasks.core.project.settings import load_settings

    from .conftest import build_in, copy_example

    project = copy_example(tmp_path / "hello")
    (project / "tasks.py").write_text("import krakend_tasks.invoke\nns = krakend_tasks.invoke.collection()\n")
    build_in(load_settings(project, engine="local", targets="amd64-alpine"))
    env = {"DOCKER_HOST": f"unix://{tmp_path}/no-daemon.sock"}
    built = run([PYTHON, "-m", "invoke", "ship", "--build"], project, env)
    assert built.returncode == 4 and "no-daemon.sock" in built.stderr, built.stderr
    written = run([PYTHON, "-m", "invoke", "ship", "--no-build"], project, env)
    assert written.returncode == 0 and (project / "Dockerfile").is_file(), written.stderr
    both = run([PYTHON, "-m", "invoke", "ship", "--build", "--no-build"], project, env)
    assert (both.returncode, both.stderr.strip()) == (2, "--build and --no-build: give one of them")


@pytest.mark.parametrize("command", COMMANDS, ids=[c.name for c in COMMANDS])
def test_help_succeeds_everywhere(recorded, command, capsys):
    through_nox(command, ["--help"])
    through_cli(command, ["--help"])
    assert command.name not in recorded  # help only: the command did not run
    printed = capsys.readouterr().out
    assert printed.count(command.help) == 2
    for option in command.all_options():
        assert printed.count(option.flag) >= 2, option.flag


def test_unknown_option_and_bad_value(recorded, capsys):
    command = BY_NAME["check"]
    with pytest.raises(RuntimeError, match=r"nox -s check --: unrecognized arguments: --bogus \(valid options: "):
        through_nox(command, ["--bogus"])
    assert cli.run(["check", "--bogus"]) == 2
    assert cli.run(["check", "--format", "yaml"]) == 2
    assert cli.run(["nothing"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("krakend-tasks check: unrecognized arguments: --bogus (valid options: --help, --format,")
    assert err[1] == ("krakend-tasks check: argument --format: invalid choice: 'yaml' "
                      "(choose from 'table', 'json', 'krakend', 'github')")
    assert err[2].startswith("krakend-tasks: unknown command 'nothing' (commands: build, check,")
    assert recorded == {}


def test_invoke_bad_values_exit_2_and_unknown_options_are_invokes(tmp_path):
    """A bad value is ours (exit 2, one line). An unknown option is invoke's own parser's: its
    `No idea what ...` and exit status 1, which a task cannot change."""
    (tmp_path / "tasks.py").write_text("import krakend_tasks.invoke\nns = krakend_tasks.invoke.collection()\n")
    bad = run([PYTHON, "-m", "invoke", "check", "--format", "yaml"], tmp_path)
    assert (bad.returncode, bad.stderr.strip()) == (2, "--format: 'yaml' is not one of table, json, krakend, github")
    unknown = run([PYTHON, "-m", "invoke", "check", "--bogus"], tmp_path)
    assert (unknown.returncode, unknown.stderr.strip()) == (1, "No idea what '--bogus' is!")


def test_cli_shows_only_its_own_options(capsys):
    assert cli.run(["--help"]) == 0
    out = capsys.readouterr().out
    for word in ("--prompt-for-sudo-password", "--pty", "--write-pyc", "--hide", "--dry", "--echo", "--core-opts"):
        assert word not in out
    assert all(f"  {c.name} " in out for c in COMMANDS)
    assert cli.run(["--list"]) == 0 and capsys.readouterr().out.split() == [c.name for c in COMMANDS]


def test_docs_table_is_the_option_table():
    docs = (ROOT / "docs" / "sessions-and-tasks.md").read_text()
    block = docs.split("<!-- options:begin -->\n", 1)[1].split("<!-- options:end -->", 1)[0]
    assert block == markdown(), "regenerate it: python -m krakend_tasks.options"


def test_the_reported_defects_for_real(tmp_path, cross):
    """`nox -s check -- --target arm64` and `krakend-tasks build --builder/--dist/--pull/...` once failed."""
    project = copy_example(tmp_path / "plugin")
    (tmp_path / "noxfile.py").write_text(
        f'import krakend_tasks.nox\nkrakend_tasks.nox.register(project="plugin", version="{VERSION}")\n')
    out = run([PYTHON, "-m", "nox", "-s", "check", "--", "--target", "arm64"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "arm64-alpine: compatible" in out.stdout and "amd64-alpine" not in out.stdout
    out = run([PYTHON, "-m", "nox", "-s", "build", "--", "--help"], tmp_path)
    assert out.returncode == 0 and "--modcache DIR" in out.stdout and "Session build was successful" in out.stderr
    out = run([PYTHON, "-m", "krakend_tasks", "build", "--engine", "local", "--version", VERSION, "--target",
               "amd64-generic", "--dist", "out", "--pull", "never", "--builder", "local/unused", "--json"], project)
    assert out.returncode == 0, out.stderr
    assert (project / "out" / f"hello-{VERSION}-amd64-generic.so").is_file()


# check-plugin: KrakenD's text byte for byte (krakend-cobra's pluginFuncErr, 2.7.1+) ---------------

MUSL = "MUSL-1.2.5_(alpine-3.23)"  # KrakenD 2.13.8's Docker image libc, as releases.tsv knows it


def go_sum(*entries: str) -> str:
    """go.sum lines for `module version` entries; `module version/go.mod` entries only the go.mod line."""
    lines = []
    for entry in entries:
        module, version = entry.split()
        if not version.endswith("/go.mod"):
            lines.append(f"{module} {version} h1:AAAA=")
        lines.append(f"{module} {version.removesuffix('/go.mod')}/go.mod h1:BBBB=")
    return "\n".join(lines) + "\n" if lines else ""


def block(name: str, have: str, want: str) -> str:
    return f"{name}\n\thave: {have}\n\twant: {want}\n"


GO_MOD = "module example.com/p\n\ngo 1.25.0\n\nrequire github.com/google/uuid v1.5.0\n\n" \
         "require golang.org/x/text v0.30.0 // indirect\n"
CORPUS = [  # (id, flags, go.sum, go.mod or None, expected stderr, exit status)
    ("match", ["-l", MUSL], go_sum("github.com/google/uuid v1.6.0", "golang.org/x/text v0.37.0"), None,
     "No incompatibilities found!\n", 0),
    ("libc-not-given", [], go_sum("github.com/google/uuid v1.6.0"), None,
     block("libc", "", MUSL) + "1 incompatibilities found\n", 1),
    ("go-given", ["-g", "1.25.11", "-l", MUSL], go_sum("github.com/google/uuid v1.6.0"), None,
     block("go", "1.25.11", "1.25.12") + "1 incompatibilities found\n", 1),
    ("libc-go-order", ["-g", "1.24.0", "-l", "GLIBC-2.36_(debian-12)"], "", None,
     block("libc", "GLIBC-2.36_(debian-12)", MUSL) + block("go", "1.24.0", "1.25.12") + "2 incompatibilities found\n",
     1),
    ("highest-by-semver", ["-l", MUSL], go_sum("github.com/google/uuid v1.10.0", "github.com/google/uuid v1.3.0"),
     None, block("github.com/google/uuid", "v1.10.0", "v1.6.0") + "1 incompatibilities found\n", 1),
    ("go.mod-only-lines", ["-l", MUSL], go_sum("golang.org/x/text v0.37.0", "golang.org/x/text v0.40.0/go.mod"),
     None, block("golang.org/x/text", "v0.40.0", "v0.37.0") + "1 incompatibilities found\n", 1),
    ("pre-release", ["-l", MUSL], go_sum("github.com/cespare/xxhash/v2 v2.3.0", "github.com/cespare/xxhash/v2 "
                                                                                 "v2.4.0-rc.1"), None,
     block("github.com/cespare/xxhash/v2", "v2.4.0-rc.1", "v2.3.0") + "1 incompatibilities found\n", 1),
    ("pseudo-version", ["-l", MUSL], go_sum("github.com/golang/groupcache v0.0.0-20200121045136-8c9f03a8e57e"), None,
     block("github.com/golang/groupcache", "v0.0.0-20200121045136-8c9f03a8e57e",
           "v0.0.0-20210331224755-41bb18bfe9da") + "1 incompatibilities found\n", 1),
    ("incompatible", ["-l", MUSL], go_sum("github.com/DataDog/datadog-go v4.8.2+incompatible"), None,
     block("github.com/DataDog/datadog-go", "v4.8.2+incompatible", "v4.8.3+incompatible")
     + "1 incompatibilities found\n", 1),
    ("one-side-only", ["-l", MUSL], go_sum("rsc.io/quote v1.5.2", "example.com/mine v0.1.0"), None,
     "No incompatibilities found!\n", 0),
    ("empty", [], "", None, block("libc", "", MUSL) + "1 incompatibilities found\n", 1),
    ("sorted-by-path", ["-l", MUSL], go_sum("golang.org/x/text v0.30.0", "github.com/google/uuid v1.5.0"), None,
     block("github.com/google/uuid", "v1.5.0", "v1.6.0") + block("golang.org/x/text", "v0.30.0", "v0.37.0")
     + "2 incompatibilities found\n", 1),
    ("fix-direct-and-indirect", ["-f"], go_sum("github.com/google/uuid v1.5.0", "golang.org/x/text v0.30.0"), GO_MOD,
     block("libc", "", MUSL) + "go get github.com/google/uuid@v1.6.0\n"
     "go mod edit --replace golang.org/x/text=golang.org/x/text@v0.37.0\n3 incompatibilities found\n", 1),
    ("fix-without-go.mod", ["-f", "-l", MUSL], go_sum("github.com/google/uuid v1.5.0"), None,
     "reading go.mod: open go.mod: no such file or directory\n", 1),
    ("no-go.sum", [], None, None, "open ./go.sum: no such file or directory\n", 1),
]


@pytest.mark.parametrize(("flags", "sum_text", "mod_text", "expected", "status"),
                         [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_check_plugin_is_krakends_text(tmp_path, flags, sum_text, mod_text, expected, status):
    if sum_text is not None:
        (tmp_path / "go.sum").write_text(sum_text)
    if mod_text is not None:
        (tmp_path / "go.mod").write_text(mod_text)
    out = run([PYTHON, "-m", "krakend_tasks", "check-plugin", "--version", VERSION, *flags], tmp_path)
    assert (out.stdout, out.stderr, out.returncode) == ("", expected, status)


def test_check_plugin_sum_flag_and_nox(tmp_path):
    sub = tmp_path / "plugin"
    sub.mkdir()
    (sub / "go.sum").write_text(go_sum("github.com/google/uuid v1.5.0"))
    out = run([PYTHON, "-m", "krakend_tasks", "check-plugin", "--version", VERSION, "-s", "plugin/go.sum", "-f",
               "-l", MUSL], tmp_path)
    assert out.stderr == "reading go.mod: open plugin/go.mod: no such file or directory\n" and out.returncode == 1
    (sub / "go.mod").write_text("module p\n\nrequire github.com/google/uuid v1.5.0\n")
    out = run([PYTHON, "-m", "krakend_tasks", "check-plugin", "--version", VERSION, "--sum", "plugin/go.sum",
               "--format", "--libc", MUSL], tmp_path)
    assert out.stderr == "go get github.com/google/uuid@v1.6.0\n1 incompatibilities found\n"


# test-plugin: KrakenD's lines, from our loader and the fingerprints -----------------------------

SUMMARY_OK = re.compile(r"\[OK\] (\d+) tested plugin\(s\) in [0-9.]+(ns|µs|ms|s)\n$")
SUMMARY_KO = re.compile(r"\[KO\] (\d+) tested plugin\(s\) in [0-9.]+(ns|µs|ms|s)\.\n(\d+) plugin\(s\) failed\.\n$")


@pytest.fixture(scope="module")
def built(tmp_path_factory, cross) -> dict[str, Path]:
    """The example for amd64-generic the right way, and the same source from the host's module cache."""
    from krakend_tasks.core.project.settings import load_settings

    project = copy_example(tmp_path_factory.mktemp("tp") / "hello")
    good = build_in(load_settings(project, engine="local", version=VERSION, targets="amd64-generic"))[0]
    wrong = project / "wrong" / "hello.so"
    env = {"GOTOOLCHAIN": "go1.25.12", "GOMODCACHE": str(Path.home() / "go" / "pkg" / "mod"), "CGO_ENABLED": "1"}
    subprocess.run(["go", "build", "-buildmode=plugin", "-o", str(wrong), "."], cwd=project, check=True,
                   env={**__import__("os").environ, **env}, capture_output=True)
    return {"good": project / "dist" / good.path, "wrong": wrong}


def test_plugin(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return run([PYTHON, "-m", "krakend_tasks", "test-plugin", "--version", VERSION, *args], cwd)


test_plugin.__test__ = False  # type: ignore[attr-defined]


def test_test_plugin_lines(built, tmp_path):
    good = built["good"]
    out = test_plugin(["-s", str(good)], tmp_path)
    assert out.returncode == 0 and out.stdout == ""
    assert out.stderr.startswith(f"[OK] SERVER\t{good.name}\n") and SUMMARY_OK.search(out.stderr)
    out = test_plugin(["-s", "-c", "-m", str(good), str(tmp_path / "missing.so")], tmp_path)
    lines = out.stderr.splitlines()
    assert out.returncode == 1
    assert lines[:4] == [f"[OK] SERVER\t{good.name}",
                         f"[KO] MODIFIER\t{good.name}: The plugin does not contain a ModifierRegisterer.",
                         f"[KO] CLIENT\t{good.name}: The plugin does not contain a ClientRegisterer.",
                         f"[KO] Unable to open the plugin {tmp_path / 'missing.so'}."]
    assert SUMMARY_KO.search(out.stderr).group(1, 3) == ("2", "2")
    assert test_plugin([str(good)], tmp_path).stderr == "You must declare the expected type of the plugin.\n"
    assert test_plugin(["-s"], tmp_path).stderr == "At least one plugin is required.\n"


def test_test_plugin_says_what_krakend_would_for_a_foreign_package(built, krakend_bins, tmp_path):
    """Same versions, another module cache: the Go loader opens it, but KrakenD does not; the line
    carries Go's own error, equal to the real KrakenD's test-plugin line."""
    wrong = built["wrong"]
    out = test_plugin(["-s", str(wrong)], tmp_path)
    assert out.returncode == 1
    first = out.stderr.splitlines()[0]
    real = krakend(krakend_bins, "amd64-generic", "test-plugin", "-s", str(wrong))
    assert real.returncode == 1 and first == real.stderr.splitlines()[0]
    assert first == f"[KO] SERVER\t{wrong.name}: plugin was built with a different version of package " \
                    "github.com/google/uuid"


def test_nox_drop_ins(built, tmp_path):
    shutil.copy(EXAMPLE / "go.sum", tmp_path / "go.sum")
    (tmp_path / "noxfile.py").write_text(
        f'import krakend_tasks.nox\nkrakend_tasks.nox.register(project=".", version="{VERSION}")\n')
    out = run([PYTHON, "-m", "nox", "-s", "krakend_check_plugin", "--", "-l", MUSL], tmp_path)
    assert out.returncode == 0 and "No incompatibilities found!\n" in out.stderr
    out = run([PYTHON, "-m", "nox", "-s", "krakend_test_plugin", "--", "-s", str(built["good"])], tmp_path)
    assert out.returncode == 0 and f"[OK] SERVER\t{built['good'].name}\n" in out.stderr
