"""new: each scaffold passes its Go tests, builds for every target, checks and loads, through its own
noxfile.py and tasks.py; bad input is refused without writing anything."""

import json
import shutil
import subprocess

import pytest
import yaml

from krakend_tasks.core.krakend.releases import resolve
from krakend_tasks.core.workflows.scaffold import new, render
from krakend_tasks.errors import ConfigError, DestinationExists

from .conftest import EXPECTED, PYTHON, VERSION, docker_settings, run

KINDS = {"server": "SERVER", "client": "CLIENT", "modifier": "MODIFIER"}


@pytest.fixture
def scaffold_env(go_proxy):
    """Check needs KrakenD's dependencies: the real 2.13.8 go.mod from a file:// module proxy."""
    return {"GOPROXY": go_proxy}


@pytest.mark.parametrize("kind", KINDS)
def test_scaffold_is_green_with_its_own_sessions(tmp_path, kind, cross, scaffold_env):
    made = run([PYTHON, "-m", "krakend_tasks", "new", "--type", kind, "--name", f"my-{kind}", "--version", VERSION],
               tmp_path)
    assert made.returncode == 0, made.stderr
    project = tmp_path / f"my-{kind}"
    assert (project / "go.mod").read_text() == (f"module example.com/krakend-plugins/my-{kind}\n\ngo 1.25.12\n\n"
                                                "require github.com/google/uuid v1.6.0\n")
    assert "github.com/google/uuid v1.6.0 h1:" in (project / "go.sum").read_text()
    out = run([PYTHON, "-m", "nox", "-s", "unit", "build", "check", "test_load", "--", "--engine", "local"],
              project, env=scaffold_env)
    assert out.returncode == 0, out.stderr[-3000:]
    assert f"ok  \texample.com/krakend-plugins/my-{kind}" in out.stdout + out.stderr  # go test
    assert sorted(p.name for p in (project / "dist").glob("*.so")) == sorted(
        f"my-{kind}-{VERSION}-{t}.so" for t in EXPECTED)
    for target in EXPECTED:
        assert f"{target}: compatible with KrakenD" in out.stdout
        assert f"{target}\tdist/my-{kind}-{VERSION}-{target}.so\t{KINDS[kind]}\tOK\tregistered: my-{kind}" \
            in out.stdout
        # the scaffold shares github.com/google/uuid with KrakenD: compared with KrakenD 2.13.8's fingerprints
        assert f"{target}\tdist/my-{kind}-{VERSION}-{target}.so\tPACKAGES\tOK\t" in out.stdout
    config = json.loads((project / "krakend.json").read_text())
    assert config["plugin"] == {"pattern": ".so", "folder": "/opt/krakend/plugins/"}
    configured = run([PYTHON, "-m", "invoke", "configure", "--validate"], project)
    assert configured.returncode == 0, configured.stderr
    assert "already configured, unchanged" in configured.stdout and "every name is provided" in configured.stdout


def test_scaffold_builds_in_the_builder_images_with_invoke(tmp_path, docker_client, scaffold_env):
    new(tmp_path / "edge", "client", release=resolve(VERSION))
    env = {**scaffold_env, "KRAKEND_TASKS_BUILDER": docker_settings()["builder"], "KRAKEND_TASKS_PULL": "never",
           "KRAKEND_TASKS_NETWORK": "host"}
    out = run([PYTHON, "-m", "invoke", "build", "--target", "alpine", "--engine", "docker"], tmp_path / "edge", env)
    assert out.returncode == 0, out.stderr[-3000:]
    loaded = run([PYTHON, "-m", "invoke", "test-load", "--json"], tmp_path / "edge", env)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert {r["target"] for r in json.loads(loaded.stdout)["plugins"] if r["ok"]} == {"amd64-alpine", "arm64-alpine"}
    assert {r["packages"]["state"] for r in json.loads(loaded.stdout)["plugins"]} == {"OK"}


def test_new_from_a_projects_nox_session(tmp_path):
    (tmp_path / "noxfile.py").write_text("import krakend_tasks.nox\nkrakend_tasks.nox.register()\n")
    out = run([PYTHON, "-m", "nox", "-s", "new", "--", "--type", "modifier", "--name", "tagger",
               "--module", "github.com/acme/tagger", "--version", "2.13"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "tagger" / "go.mod").read_text().startswith("module github.com/acme/tagger\n\ngo 1.25.12\n")
    assert 'version = "2.13.8"' in (tmp_path / "tagger" / "krakend-tasks.toml").read_text()


def test_refuses_to_overwrite(tmp_path):
    project = tmp_path / "taken"
    project.mkdir()
    (project / "main.go").write_text("package main // mine\n")
    out = run([PYTHON, "-m", "krakend_tasks", "new", "--type", "server", "--name", "x", "--dest", str(project)],
              tmp_path)
    assert out.returncode == 11 and "already exists and is not empty; nothing was written" in out.stderr
    assert [p.name for p in project.iterdir()] == ["main.go"]
    assert (project / "main.go").read_text() == "package main // mine\n"
    (tmp_path / "file").write_text("x")
    with pytest.raises(DestinationExists):
        new(tmp_path / "file", "server")
    new(tmp_path / "empty-ok", "server")  # an empty (or absent) folder is fine


@pytest.mark.parametrize(("args", "message"), [
    (["--type", "proxy", "--name", "x"], "argument --type: invalid choice: 'proxy'"),
    (["--type", "server", "--name", "Bad_Name"], "invalid plugin name 'Bad_Name'"),
    (["--type", "server", "--name", "x", "--version", "2.99"], "unknown KrakenD version"),
    (["--name", "x"], "new needs a plugin type and a name"),
])
def test_bad_arguments(tmp_path, args, message):
    out = run([PYTHON, "-m", "krakend_tasks", "new", *args], tmp_path)
    assert out.returncode == 2 and message in out.stderr, out.stderr
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ConfigError):
        new(tmp_path / "y", "proxy")


def test_sample_workflow_runs_the_matrix_sessions(tmp_path):
    """The scaffold's GitHub workflow: the matrix step's command and each job's sessions exist."""
    new(tmp_path / "wf", "server", release=resolve(VERSION))
    workflow = yaml.safe_load((tmp_path / "wf" / ".github" / "workflows" / "plugin.yml").read_text())
    step = next(s for s in workflow["jobs"]["matrix"]["steps"] if s.get("id") == "matrix")
    command = step["run"].split("$(")[1].split(")")[0]
    out = run(command.replace("python", PYTHON, 1).split(), tmp_path / "wf")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)["include"]
    assert [r["target"] for r in rows] == list(EXPECTED)
    listed = run([PYTHON, "-m", "nox", "-l"], tmp_path / "wf").stdout
    for row in rows:
        assert f"- {row['build_session']} [krakend]" in listed and f"- {row['test_session']} [krakend]" in listed
        assert row["image"] == f"krakend/builder:{VERSION}" + ("" if row["libc"] == "alpine" else "-linux-generic")
    build = workflow["jobs"]["build"]
    assert build["strategy"]["matrix"] == "${{ fromJSON(needs.matrix.outputs.include) }}"
    assert "${{ matrix.build_session }}" in " ".join(s.get("run", "") for s in build["steps"])
    assert "- smoke [krakend]" in listed and "nox -s smoke" in " ".join(s.get("run", "") for s in build["steps"])


def test_the_bundled_example_is_the_server_scaffold():
    """examples/hello-plugin's Go code is `new --type server --name hello`, kept in step with the templates."""
    from .conftest import EXAMPLE

    files = render("server", "hello", "example.com/krakend-plugins/hello", resolve(VERSION))
    for name in ("main.go", "plugin.go", "main_test.go", "krakend.json", "krakend-tasks.toml", "specs/server.json"):
        assert (EXAMPLE / name).read_text() == files[name], f"{name}: regenerate it from the scaffold"


@pytest.mark.parametrize("versions", [None, ">=2.12"])
def test_the_workflow_passes_actionlint_and_builds_each_release_of_a_range(tmp_path, versions):
    """The scaffold's workflow, as written, through the real actionlint; with `new --versions`, its
    matrix has a row per matching release and go.mod names the oldest one's Go."""
    from .conftest import need

    actionlint = shutil.which("actionlint")
    need("cross", actionlint is not None, "actionlint is missing (.ci/setup-host.sh installs it)")
    args = [PYTHON, "-m", "krakend_tasks", "new", "--type", "client", "--name", "ranged", "--dest",
            str(tmp_path / "ranged"), "--version", VERSION] if versions is None else [
            PYTHON, "-m", "krakend_tasks", "new", "--type", "client", "--name", "ranged", "--dest",
            str(tmp_path / "ranged"), "--versions", versions]
    assert run(args, tmp_path).returncode == 0
    project = tmp_path / "ranged"
    lint = subprocess.run([actionlint, ".github/workflows/plugin.yml"], cwd=project, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    workflow = (project / ".github" / "workflows" / "plugin.yml").read_text()
    assert "--junit reports/" in workflow and "path: reports/*.xml" in workflow
    rows = json.loads(run([PYTHON, "-m", "krakend_tasks", "matrix", "--json", "--target", "amd64-alpine"],
                          project).stdout)["include"]
    if versions is None:
        assert [r["krakend"] for r in rows] == [VERSION]
    else:
        assert [r["krakend"] for r in rows] == ["2.12.1", "2.13.8"]
        assert f"go {rows[0]['go']}\n" in (project / "go.mod").read_text()
        assert f'version = "{versions}"' in (project / "krakend-tasks.toml").read_text()
