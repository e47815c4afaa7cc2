"""explain: the real KrakenD CE 2.13.8 (.ci/krakend.sh) made to write each plugin line for real (a
plugin built with another uuid, by another Go, for musl, for arm64, twice in one folder, with a
misnamed registerer, a folder the pattern misses), and its real log fed to `explain`; then what a
hostile input does to explain (a huge log, binary data, a 10 MB line, a FIFO)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from krakend_tasks.core.project.settings import load_settings

from .conftest import PYTHON, VERSION, build_in, copy_example, run


def explain(cwd: Path, *args: str, stdin: bytes | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "KRAKEND_TASKS_VERSION"}
    return subprocess.run([PYTHON, "-m", "krakend_tasks", "explain", *args], cwd=cwd, input=stdin,
                          capture_output=True, env=env, timeout=timeout)


def krakend_log(bins: dict[str, Path], target: str, project: Path, plugins: dict[str, Path], folder: Path,
                pattern: str = ".so", names: tuple[str, ...] = ("hello",)) -> Path:
    """KrakenD of `target` run on the example's config with `plugins` (name -> .so) in `folder`, until it
    served the endpoints (or died); its log."""
    from krakend_tasks.core.krakend.runner import binary_command
    from krakend_tasks.core.serving.gateway import free_port

    folder.mkdir(parents=True, exist_ok=True)
    for name, path in plugins.items():
        shutil.copyfile(path, folder / name)
    config = json.loads((project / "krakend.json").read_text())
    config["plugin"] = {"folder": f"{folder}/", "pattern": pattern}
    config["extra_config"]["plugin/http-server"]["name"] = list(names)
    config["port"] = free_port()
    staged = folder.parent / f"{folder.name}.json"
    staged.write_text(json.dumps(config))
    log = folder.parent / f"{folder.name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([*binary_command(bins[target]), "run", "-c", str(staged)], stdout=out,
                                stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while proc.poll() is None and time.monotonic() < deadline and b"Listening on port" not in log.read_bytes():
                time.sleep(0.05)
            time.sleep(0.2)  # the plugins' last lines
        finally:
            proc.kill()
            proc.wait()
    return log


@pytest.fixture(scope="module")
def builds(tmp_path_factory, cross) -> dict[str, Path]:
    """The example built as KrakenD's release is (glibc, musl, arm64), and three ways KrakenD refuses."""
    root = tmp_path_factory.mktemp("explain")
    found: dict[str, Path] = {}
    project = copy_example(root / "hello")
    for artifact in build_in(load_settings(project, engine="local", version=VERSION,
                                           targets="amd64-generic,amd64-alpine,arm64-generic")):
        found[artifact.target] = project / "dist" / artifact.path
    found["project"] = project
    env = {**os.environ, "GOTOOLCHAIN": "go1.25.12", "GOFLAGS": "-mod=mod"}
    other_uuid = copy_example(root / "uuid")
    subprocess.run(["go", "get", "github.com/google/uuid@v1.5.0"], cwd=other_uuid, env=env, check=True,
                   capture_output=True)
    build_in(load_settings(other_uuid, engine="local", version=VERSION, targets="amd64-generic"),
             keep_unloadable=True)
    found["uuid"] = other_uuid / "dist" / f"hello-{VERSION}-amd64-generic.so"
    other_go = copy_example(root / "go")  # the host's Go (not KrakenD's 1.25.12)
    found["go"] = other_go / "other-go.so"
    subprocess.run(["go", "build", "-buildmode=plugin", "-o", str(found["go"]), "."], cwd=other_go, check=True,
                   env={**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"}, capture_output=True)
    wrong_type = copy_example(root / "wrong-type")  # the symbol is there, a string
    main = wrong_type / "main.go"
    main.write_text(main.read_text().replace("var HandlerRegisterer = registerer(pluginName)",
                                             "var HandlerRegisterer = pluginName"))
    build_in(load_settings(wrong_type, engine="local", version=VERSION, targets="amd64-generic"))
    found["wrong-type"] = wrong_type / "dist" / f"hello-{VERSION}-amd64-generic.so"
    fortified = copy_example(root / "fortified")  # glibc's __fprintf_chk, which musl lacks
    (fortified / "fortify.go").write_text(FORTIFIED)
    build_in(load_settings(fortified, engine="local", version=VERSION, targets="amd64-generic"))
    found["fortified"] = fortified / "dist" / f"hello-{VERSION}-amd64-generic.so"
    trimmed = copy_example(root / "trimpath")  # KrakenD's Go and versions, but -trimpath
    found["trimpath"] = trimmed / "trimpath.so"
    subprocess.run(["go", "build", "-buildmode=plugin", "-o", str(found["trimpath"]), "."], cwd=trimmed, check=True,
                   env={**env, "GOMODCACHE": "/go/pkg/mod", "GOFLAGS": "-trimpath -mod=mod"}, capture_output=True)
    found["text"] = root / "text.so"
    found["text"].write_text("not a plugin\n")
    misnamed = copy_example(root / "misnamed")
    main = misnamed / "main.go"
    main.write_text(main.read_text().replace("var HandlerRegisterer =", "var HandlerRegister ="))
    build_in(load_settings(misnamed, engine="local", version=VERSION, targets="amd64-generic"))
    found["misnamed"] = misnamed / "dist" / f"hello-{VERSION}-amd64-generic.so"
    return found


def kinds(out: subprocess.CompletedProcess) -> dict[str, dict]:
    report = json.loads(out.stdout)
    return {e["kind"]: e for e in report["explained"]}


FORTIFIED = """package main

// #cgo CFLAGS: -O2 -D_FORTIFY_SOURCE=2
// #include <stdio.h>
// static void say(const char *s) { fprintf(stderr, "%s\\n", s); }
import "C"

func init() {
	if pluginName == "never" {
		C.say(C.CString("x"))
	}
}
"""
CASES = {  # name: (KrakenD's target, the files, the pattern, the kind explain must give, words of KrakenD's line)
    "another uuid": ("amd64-generic", {"hello.so": "uuid"}, ".so", "package-fingerprint",
                     "plugin was built with a different version of package github.com/google/uuid"),
    "another Go": ("amd64-generic", {"hello.so": "go"}, ".so", "no-module-data", "no plugin module data"),
    "musl in glibc": ("amd64-generic", {"hello.so": "amd64-alpine"}, ".so", "libc", "libc.so: invalid ELF header"),
    "arm64 in amd64": ("amd64-generic", {"hello.so": "arm64-generic"}, ".so", "architecture",
                       "cannot open shared object file"),
    "twice": ("amd64-generic", {"hello.so": "amd64-generic", "hello-old.so": "amd64-generic"}, ".so",
              "already-loaded", "plugin already loaded"),
    "misnamed registerer": ("amd64-generic", {"hello.so": "misnamed"}, ".so", "no-registerer",
                            "symbol HandlerRegisterer not found"),
    "wrong registerer type": ("amd64-generic", {"hello.so": "wrong-type"}, ".so", "registerer-type",
                              "http-server-handler plugin loader: unknown type"),
    "glibc in musl": ("amd64-alpine", {"hello.so": "fortified"}, ".so", "libc", "__fprintf_chk: symbol not found"),
    "trimpath": ("amd64-generic", {"hello.so": "trimpath"}, ".so", "package-fingerprint",
                 "plugin was built with a different version of package internal/"),
    "not a plugin": ("amd64-generic", {"hello.so": "text"}, ".so", "not-a-plugin", "file too short"),
    "pattern misses": ("amd64-generic", {"hello.so": "amd64-generic"}, ".dylib", "none-registered",
                       "No plugins registered for the module"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_real_krakend_line_gets_its_cause(case, builds, krakend_bins, tmp_path):
    target, files, pattern, kind, words = CASES[case]
    log = krakend_log(krakend_bins, target, builds["project"], {n: builds[b] for n, b in files.items()},
                      tmp_path / "plugins", pattern)
    assert words in log.read_text(), log.read_text()[-3000:]  # KrakenD said it, for real
    out = explain(tmp_path, "--log", str(log), "--json")
    found = kinds(out)
    # a second copy is skipped and the first serves: a warning; every other case stops a plugin: exit 1
    assert out.returncode == (0 if case == "twice" else 1), out.stdout + out.stderr
    assert kind in found, found.keys()
    assert words in found[kind]["line"] or kind == "no-registerer"  # that one is said of the file
    assert found[kind]["cause"] and found[kind]["proof"].startswith("krakend-tasks ")
    assert "unknown" not in found, found["unknown"]


def test_with_the_plugin_and_krakend_it_names_the_module_and_versions(builds, krakend_bins, tmp_path):
    log = krakend_log(krakend_bins, "amd64-generic", builds["project"], {"hello.so": builds["uuid"]},
                      tmp_path / "plugins")
    line = next(line for line in log.read_text().splitlines() if "different version of package" in line)
    out = explain(tmp_path, line, "--path", str(builds["uuid"]), "--krakend-bin", str(krakend_bins["amd64-generic"]))
    assert out.returncode == 1
    text = out.stdout.decode()
    assert "KrakenD 2.13.8 links github.com/google/uuid v1.6.0" in text
    assert "github.com/google/uuid: module github.com/google/uuid, the plugin's v1.5.0, KrakenD's v1.6.0" in text, text
    assert f"proof: krakend-tasks test-load --path {builds['uuid']} --krakend-bin " in text
    # the same line, with the plugin KrakenD accepts: said to be another file than the one refused
    out = explain(tmp_path, line, "--path", str(builds["amd64-generic"]))
    assert "have KrakenD's fingerprints" in out.stdout.decode()


def test_a_clean_start_explains_nothing_wrong_and_stdin_and_github(builds, krakend_bins, tmp_path):
    log = krakend_log(krakend_bins, "amd64-generic", builds["project"], {"hello.so": builds["amd64-generic"]},
                      tmp_path / "plugins")
    out = explain(tmp_path, stdin=log.read_bytes())
    assert out.returncode == 0, out.stdout
    assert "[error" not in out.stdout.decode()
    bad = krakend_log(krakend_bins, "amd64-generic", builds["project"], {"hello.so": builds["uuid"]},
                      tmp_path / "refused")
    out = explain(tmp_path, "--log", str(bad), "--format", "github")
    assert out.returncode == 1
    assert f"::error file={bad},line=" in out.stdout.decode() and "title=explain%3A package-fingerprint" in \
        out.stdout.decode()


def test_an_unknown_plugin_line_is_said_to_be_unknown(tmp_path):
    line = "2026/12/07 KRAKEND ERROR: [SERVICE: Handler Plugin] plugin #0 (/p/x.so): something nobody has seen"
    out = explain(tmp_path, line, "--json")
    found = kinds(out)
    assert list(found) == ["unknown"] and "nothing is guessed" in found["unknown"]["cause"]
    assert out.returncode == 0


@pytest.mark.slow
def test_hostile_inputs_are_bounded_and_said(tmp_path):
    huge = tmp_path / "huge.log"  # 1 GB, sparse: NUL bytes, no newline
    with huge.open("wb") as f:
        f.truncate(1 << 30)
    started = time.monotonic()
    out = explain(tmp_path, "--log", str(huge), "--json", timeout=300)
    report = json.loads(out.stdout)
    assert out.returncode == 0 and report["read"]["truncated"] and report["read"]["binary"], report["read"]
    assert report["read"]["bytes"] == 256 << 20 and time.monotonic() - started < 120
    long_line = tmp_path / "long.log"
    long_line.write_bytes(b"x" * (10 << 20) + b" plugin was built with a different version of package a/b\n"
                          + b"[PLUGIN: Server] No plugin registered as hello\n")
    report = json.loads(explain(tmp_path, "--log", str(long_line), "--json").stdout)
    assert report["read"]["cut_lines"] == 1 and [e["kind"] for e in report["explained"]] == ["unregistered-name"]
    garbage = tmp_path / "garbage.log"
    garbage.write_bytes(os.urandom(1 << 20))
    out = explain(tmp_path, "--log", str(garbage), "--json")
    assert out.returncode in (0, 1) and json.loads(out.stdout)["read"]["binary"]
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    out = explain(tmp_path, "--log", str(fifo))
    assert out.returncode == 2 and "is a FIFO and nothing wrote to it within 10 s" in out.stderr.decode()

    def write() -> None:
        time.sleep(1)
        with fifo.open("w") as writer:
            writer.write("[PLUGIN: Server] No plugin registered as hello\n")

    threading.Thread(target=write, daemon=True).start()
    out = explain(tmp_path, "--log", str(fifo), "--json")
    assert out.returncode == 1 and kinds(out).keys() == {"unregistered-name"}
    for args, said in ((["--log", str(tmp_path)], "is a folder"), (["--log", str(tmp_path / "none")], "No such file"),
                       (["a line", "--log", str(huge)], "not both")):
        out = explain(tmp_path, *args)
        assert out.returncode == 2 and said in out.stderr.decode() and b"Traceback" not in out.stderr


def test_without_input_on_a_terminal_it_says_what_it_needs(tmp_path):
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # the child: explain with a terminal on stdin
        os.chdir(tmp_path)
        os.execv(PYTHON, [PYTHON, "-m", "krakend_tasks", "explain"])
    said = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        said += chunk
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 2 and b"explain needs KrakenD's log" in said


def test_the_commands_line_on_the_command_line(tmp_path):
    out = run([PYTHON, "-m", "krakend_tasks", "explain", "fatal error: runtime: no plugin module data"], tmp_path)
    assert out.returncode == 1 and "[error, no-module-data]" in out.stdout and "KrakenD dies at start" in out.stdout


SAMPLES = ["plugin was built with a different version of package a/b", "fatal error: runtime: no plugin module data",
           "x: __fprintf_chk: symbol not found", "/lib/libc.so: invalid ELF header", "version `GLIBC_2.34' not found",
           "wrong ELF class", 'plugin #0 (/a/x.so): plugin.Open("/a/x"): /a/x.so: cannot open shared object file',
           "cannot open shared object file", "file too short", "plugin already loaded",
           "symbol HandlerRegisterer not found in plugin m", "http-server-handler plugin loader: unknown type",
           "No plugin registered as x", "[PLUGIN: Server] No plugins registered for the module",
           "[SERVICE: Handler Plugin] Total plugins loaded: 0", "open /x: no such file or directory"]


def test_every_rule_explains_a_line_of_its_own():
    """Each rule of the table matches a line and its texts format (a brace in a text is no traceback)."""
    from krakend_tasks.core.verifying.explain import RULES, Context

    for pattern, explain_with in RULES:
        line = next(sample for sample in SAMPLES if pattern.search(sample))
        said = explain_with(pattern.search(line), line, Context())
        assert said.cause and said.kind != "unknown", line
