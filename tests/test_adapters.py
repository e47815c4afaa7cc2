"""Nox sessions and Invoke tasks composed into a user's own noxfile.py / tasks.py, run for real."""

import json
import subprocess
import sys

import pytest

from .conftest import PYTHON, VERSION, copy_example, docker_settings, run

NOXFILE = '''
import nox
import krakend_tasks.nox

krakend_tasks.nox.register(project="plugin", version="{version}")
krakend_tasks.nox.register(project="plugin", version="{version}")  # idempotent


@nox.session(python=False)
def own(session):
    """The project's own session."""
    session.log("own session ran")
'''

TASKS = '''
from invoke import Collection, task
import krakend_tasks.invoke


@task
def own(c):
    """The project's own task."""
    print("own task ran")


ns = Collection(own)
ns.add_collection(krakend_tasks.invoke.collection(project="plugin", version="{version}"))
'''


@pytest.fixture
def user_project(tmp_path):
    copy_example(tmp_path / "plugin")
    (tmp_path / "noxfile.py").write_text(NOXFILE.format(version=VERSION))
    (tmp_path / "tasks.py").write_text(TASKS.format(version=VERSION))
    return tmp_path


def test_nox_lists_our_sessions_beside_the_projects(user_project):
    out = run([PYTHON, "-m", "nox", "-l"], user_project)
    assert out.returncode == 0, out.stderr
    for line in ("- build [krakend] -> Build the KrakenD plugin for the selected targets into dist/.",
                 "- build_arm64 [krakend] -> Build the KrakenD plugin for the selected targets into dist/: arm64 "
                 "(alpine and generic).",
                 "- build_arm64_alpine [krakend] -> Build the KrakenD plugin for the selected targets into dist/: "
                 "arm64-alpine (musl).",
                 "- test_load_amd64_generic [krakend] -> Load built plugins for real and compare their packages with "
                 "KrakenD's: amd64-generic (glibc).",
                 "- bench [krakend] -> What the plugins cost: the same KrakenD with and without them, under one load.",
                 "* own -> The project's own session."):
        assert line in out.stdout, out.stdout
    assert "already been registered" not in out.stderr


def test_nox_build_arm64_and_own_session(user_project, cross):
    out = run([PYTHON, "-m", "nox", "-s", "build_arm64", "own", "--", "--engine", "local", "--json"], user_project)
    assert out.returncode == 0, out.stderr
    dist = user_project / "plugin" / "dist"
    assert sorted(p.name for p in dist.glob("*.so")) == [f"hello-{VERSION}-arm64-alpine.so",
                                                          f"hello-{VERSION}-arm64-generic.so"]
    assert "own session ran" in out.stderr
    assert '"target": "arm64-generic"' in out.stdout


def test_nox_bad_option_fails_the_session(user_project):
    out = run([PYTHON, "-m", "nox", "-s", "build_amd64", "--", "--engine", "warp"], user_project)
    assert out.returncode == 1
    assert "nox -s build_amd64 --: argument --engine: invalid choice: 'warp'" in out.stderr


def test_invoke_build_and_own_task(user_project, cross):
    listing = run([PYTHON, "-m", "invoke", "--list"], user_project)
    assert "krakend.build" in listing.stdout and "own" in listing.stdout
    out = run([PYTHON, "-m", "invoke", "krakend.build", "--target", "arm64-generic", "--engine", "local", "--json"],
              user_project)
    assert out.returncode == 0, out.stderr
    artifacts = json.loads(out.stdout)["artifacts"]
    assert [a["target"] for a in artifacts] == ["arm64-generic"]
    assert (user_project / "plugin" / "dist" / artifacts[0]["path"]).is_file()
    assert run([PYTHON, "-m", "invoke", "own"], user_project).stdout.strip() == "own task ran"


def test_invoke_configuration_layers(user_project, cross):
    """invoke.yaml overrides the collection default; INVOKE_KRAKEND_* overrides invoke.yaml."""
    (user_project / "invoke.yaml").write_text("krakend:\n  targets: amd64-generic\n  engine: local\n")
    out = run([PYTHON, "-m", "invoke", "krakend.build", "--json"], user_project)
    assert out.returncode == 0, out.stderr
    assert [a["target"] for a in json.loads(out.stdout)["artifacts"]] == ["amd64-generic"]
    out = run([PYTHON, "-m", "invoke", "krakend.build", "--json"], user_project,
              env={"INVOKE_KRAKEND_TARGETS": "amd64-alpine"})
    assert [a["target"] for a in json.loads(out.stdout)["artifacts"]] == ["amd64-alpine"]


@pytest.mark.parametrize(("args", "code", "message"), [
    (["build", "--target", "sparc"], 2, "unknown target 'sparc'"),
    (["build", "--version", "1.0"], 2, "unknown KrakenD version '1.0'"),
    (["build", "--engine", "warp"], 2, "krakend-tasks build: argument --engine: invalid choice: 'warp'"),
])
def test_cli_bad_input_exit_codes(example, args, code, message):
    out = run([PYTHON, "-m", "krakend_tasks", *args], example)
    assert (out.returncode, out.stdout) == (code, "")
    assert message in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) <= 2  # the message, and a hint where there is one


def test_cli_no_go_mod(tmp_path):
    out = run([PYTHON, "-m", "krakend_tasks", "build", "--engine", "local"], tmp_path)
    assert out.returncode == 3 and "go.mod not found" in out.stderr


def test_cli_no_docker_daemon(example):
    out = run([PYTHON, "-m", "krakend_tasks", "build", "--engine", "docker"], example, env={"DOCKER_HOST": "unix:///nowhere.sock"})
    assert out.returncode == 4 and "no Docker daemon answers at unix:///nowhere.sock" in out.stderr


def test_cli_missing_image_and_compile_error(example, docker_client):
    env = {f"KRAKEND_TASKS_{k.upper()}": v for k, v in docker_settings().items()}
    out = run([PYTHON, "-m", "krakend_tasks", "build", "--target", "amd64-alpine"], example,
              env={**env, "KRAKEND_TASKS_BUILDER": "local/absent"})
    assert out.returncode == 5 and "image local/absent:2.13.8 is not present" in out.stderr
    (example / "broken.go").write_text("package main\n\nfunc f() { nope() }\n")
    out = run([PYTHON, "-m", "krakend_tasks", "build", "--target", "amd64-alpine"], example, env=env)
    assert out.returncode == 6 and "undefined: nope" in out.stderr
    assert docker_client.containers.list(all=True, filters={"label": "krakend-tasks"}) == []


def test_adapters_import_no_heavy_modules():
    code = ("import sys, krakend_tasks.nox, krakend_tasks.invoke; "
            "print(sorted(m for m in ('docker', 'rich', 'elftools', 'requests') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_nox_and_invoke_check(user_project, tmp_path):
    """check through both adapters: the stdlib-only example passes; a plugin with KrakenD's modules
    at other versions fails with KrakenD's own text (KrakenD's go.mod from a file:// proxy)."""
    from .test_check import DATA, SHARED

    proxy = tmp_path / "proxy" / "github.com" / "krakend" / "krakend-ce" / "v2" / "@v"
    proxy.mkdir(parents=True)
    (proxy / "v2.13.8.mod").write_bytes((SHARED / "go.mod.v2.13.8").read_bytes())
    env = {"GOPROXY": (tmp_path / "proxy").as_uri(), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    out = run([PYTHON, "-m", "nox", "-s", "check", "--", "--format", "json"], user_project, env=env)
    assert out.returncode == 0, out.stderr
    assert all(r["ok"] for r in json.loads(out.stdout)["reports"].values())

    import shutil

    shutil.rmtree(user_project / "plugin")
    shutil.copytree(DATA / "plugin-mixed", user_project / "plugin")
    out = run([PYTHON, "-m", "nox", "-s", "check", "--", "--format", "krakend"], user_project, env=env)
    assert out.returncode == 1
    assert "golang.org/x/mod\n\thave: v0.36.0\n\twant: v0.35.0\n" in out.stderr
    assert "4 incompatibilities found\n" in out.stderr
    assert "check: the plugin is not compatible with" in out.stderr
    out = run([PYTHON, "-m", "invoke", "krakend.check", "--format", "krakend", "--fix"], user_project, env=env)
    assert out.returncode == 1
    assert "go mod edit --replace golang.org/x/text=golang.org/x/text@v0.37.0\n" in out.stderr


def test_progress_is_live_on_a_terminal_and_silent_elsewhere(example, cross):
    """A real pseudo-terminal: rich's live status per target; through a pipe, only the log lines."""
    import os
    import pty

    command = [PYTHON, "-m", "krakend_tasks", "build", "--target", "amd64", "--engine", "local"]
    main, child = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "KRAKEND_TASKS_VERSION"}
    proc = subprocess.Popen(command, cwd=example, stdin=child, stdout=child, stderr=child,
                            env={**env, "COLUMNS": "100", "TERM": "xterm"})
    os.close(child)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert proc.wait(timeout=300) == 0
    screen = b"".join(chunks).decode(errors="replace")
    assert "build amd64-alpine: done" in screen and "build amd64-generic: done" in screen
    piped = run(command, example)
    assert piped.returncode == 0 and "build amd64-alpine:" not in piped.stdout + piped.stderr
    assert "[amd64-alpine] building with local engine" in piped.stderr


def test_matrix_from_the_cli_and_nox(user_project):
    out = run([PYTHON, "-m", "krakend_tasks", "matrix", "--json", "--target", "arm64"], user_project / "plugin",
              env={"KRAKEND_TASKS_BUILDER": "ghcr.io/acme/builder"})
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.splitlines()) == 1  # fits $GITHUB_OUTPUT
    rows = json.loads(out.stdout)["include"]
    assert [(r["target"], r["image"], r["runner"], r["platform"], r["build_session"]) for r in rows] == [
        ("arm64-alpine", f"ghcr.io/acme/builder:{VERSION}", "ubuntu-24.04", "linux/arm64", "build_arm64_alpine"),
        ("arm64-generic", f"ghcr.io/acme/builder:{VERSION}-linux-generic", "ubuntu-24.04", "linux/arm64",
         "build_arm64_generic"),
    ]
    table = run([PYTHON, "-m", "nox", "-s", "matrix"], user_project)
    assert table.returncode == 0 and table.stdout.splitlines()[0] == "CI matrix"
    assert len(table.stdout.splitlines()) == 2 + 4


def test_the_matrix_names_the_sessions_of_a_prefixed_register(tmp_path):
    """register(prefix=...) renames the sessions; the matrix's rows must run those names."""
    project = copy_example(tmp_path / "plugin")
    (tmp_path / "noxfile.py").write_text('import krakend_tasks.nox\n\n'
                                         'krakend_tasks.nox.register(project="plugin", prefix="hello_")\n')
    out = run([PYTHON, "-m", "nox", "-s", "hello_matrix", "--", "--json", "--target", "amd64-alpine"], tmp_path)
    assert out.returncode == 0, out.stderr
    [row] = json.loads(out.stdout.splitlines()[-1])["include"]
    listed = run([PYTHON, "-m", "nox", "-l"], tmp_path).stdout
    assert (row["build_session"], row["test_session"]) == ("hello_build_amd64_alpine", "hello_test_load_amd64_alpine")
    assert all(f" {row[key]} " in listed for key in ("build_session", "test_session")), listed
    assert project.is_dir()
