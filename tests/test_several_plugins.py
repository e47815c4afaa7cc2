"""A repository of several plugins (`plugins = [...]`): built for every target in one command into
one dist/, loaded, told apart by name; a plugin that registers another's name is refused by
inspect; ship puts all of them in one image, whose KrakenD loads each."""

from __future__ import annotations

import json
import shutil

import pytest

from krakend_tasks.core.krakend.releases import resolve
from krakend_tasks.core.workflows.scaffold import new

from .conftest import PYTHON, ROOT, VERSION, docker_settings, krakend, our_containers, run

NOXFILE = "import krakend_tasks.nox\n\nkrakend_tasks.nox.register(project='.')\n"


@pytest.fixture
def repository(tmp_path, cross):
    root = tmp_path / "gateway-plugins"
    release = resolve(VERSION)
    new(root / "plugins" / "greeter", "server", "greeter", release=release)
    new(root / "plugins" / "header", "modifier", "header", release=release)
    (root / "krakend-tasks.toml").write_text(
        f'version = "{VERSION}"\nplugins = ["plugins/greeter", "plugins/header"]\n')
    (root / "noxfile.py").write_text(NOXFILE)
    return root


def docker_options() -> list[str]:
    settings = docker_settings()
    return ["--engine", "docker", "--builder", settings["builder"], "--pull", "never", "--network", "host"]


def test_several_plugins_build_load_and_ship_together(repository, docker_client, krakend_image, krakend_bins):
    out = run([PYTHON, "-m", "nox", "-s", "build", "--", *docker_options()], repository)
    assert out.returncode == 0, out.stderr[-3000:]
    built = sorted(a["path"] for a in json.loads((repository / "dist" / "manifest.json").read_text())["artifacts"])
    assert built == sorted(f"{name}-{VERSION}-{target}.so" for name in ("greeter", "header")
                           for target in ("amd64-alpine", "amd64-generic", "arm64-alpine", "arm64-generic"))

    loaded = run([PYTHON, "-m", "nox", "-s", "test_load", "--", "--json"], repository)
    assert loaded.returncode == 0, loaded.stdout[-3000:] + loaded.stderr[-3000:]
    registered = {(row["path"].split("/")[-1], c["kind"], c["detail"]) for row in json.loads(loaded.stdout)["plugins"]
                  for c in row["checks"]}
    assert {(f"greeter-{VERSION}-arm64-alpine.so", "SERVER", "registered: greeter"),
            (f"header-{VERSION}-arm64-generic.so", "MODIFIER", "registered: header")} <= registered
    assert len(registered) == 8
    for target in krakend_bins:  # the real KrakenD of each target, sharing google/uuid with both
        files = [str(repository / "dist" / f"{name}-{VERSION}-{target}.so") for name in ("greeter", "header")]
        opened = krakend(krakend_bins, target, "test-plugin", "-s", "-m", *files)
        assert opened.returncode == 1, (target, opened.stderr)  # each is one type: KrakenD says so for the other
        for file, ok, ko in ((files[0], "SERVER", "MODIFIER"), (files[1], "MODIFIER", "SERVER")):
            name = file.rsplit("/", 1)[1]
            assert f"[OK] {ok}\t{name}\n" in opened.stderr and f"[KO] {ko}\t{name}: " in opened.stderr, opened.stderr

    # one plugin of them, as a nox session option
    one = run([PYTHON, "-m", "nox", "-s", "build_amd64_generic", "--", "--only", "header", *docker_options()],
              repository)
    assert one.returncode == 0 and "header-" in one.stderr and "greeter-" not in one.stderr, one.stderr[-2000:]

    # the image holds both, and its KrakenD loads each
    (repository / "krakend.json").write_text(
        '{"version": 3, "endpoints": [{"endpoint": "/", "backend": [{"host": ["http://a"], "url_pattern": "/"}]}]}\n')
    for name in ("greeter", "header"):  # each one's type is read from its build
        configured = run([PYTHON, "-m", "krakend_tasks", "configure", "--only", name], repository)
        assert configured.returncode == 0, configured.stderr
    config = json.loads((repository / "krakend.json").read_text())
    assert config["extra_config"]["plugin/http-server"]["name"] == ["greeter"]
    assert config["endpoints"][0]["extra_config"]["plugin/req-resp-modifier"]["name"] == ["header"]
    shipped = run([PYTHON, "-m", "krakend_tasks", "ship", "--tag", "plugins-gateway:test"], repository,
                  {"KRAKEND_TASKS_KRAKEND_IMAGE": krakend_image.split(":")[0], "KRAKEND_TASKS_PULL": "never"})
    assert shipped.returncode == 0, shipped.stderr
    try:
        for name, flag in (("greeter", "-s"), ("header", "-m")):
            inside = docker_client.containers.run("plugins-gateway:test", [
                "test-plugin", flag, f"/opt/krakend/plugins/{name}.so"], remove=True, network_mode="none",
                stdout=True, stderr=True)
            assert f"[OK] {'SERVER' if flag == '-s' else 'MODIFIER'}\t{name}.so".encode() in inside, inside
    finally:
        docker_client.images.remove("plugins-gateway:test", force=True)
    assert our_containers(docker_client) == []


def test_a_plugin_that_registers_another_ones_name_is_refused_by_inspect(repository):
    twin = repository / "plugins" / "twin"
    new(twin, "server", "greeter", module="example.com/acme/twin", release=resolve(VERSION))
    (repository / "krakend-tasks.toml").write_text(
        f'version = "{VERSION}"\nplugins = ["plugins/greeter", "plugins/header", "plugins/twin"]\n')
    built = run([PYTHON, "-m", "krakend_tasks", "build", "--engine", "local", "--target", "amd64-generic"],
                repository)
    assert built.returncode == 0, built.stderr
    out = run([PYTHON, "-m", "krakend_tasks", "inspect", "--json"], repository)
    assert out.returncode == 1, out.stdout + out.stderr
    findings = {r["path"].split("/")[-1]: [f["message"] for f in r["findings"] if f["severity"] == "error"]
                for r in json.loads(out.stdout)["plugins"]}
    assert findings[f"twin-{VERSION}-amd64-generic.so"] == [
        f"greeter-{VERSION}-amd64-generic.so registers 'greeter' too: KrakenD loads one of them and drops the other"]
    assert findings[f"header-{VERSION}-amd64-generic.so"] == []

    checked = run([PYTHON, "-m", "krakend_tasks", "check", "--format", "json", "--target", "amd64-generic"],
                  repository)  # each plugin's own go.sum
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert sorted(json.loads(checked.stdout)["reports"]) == ["greeter amd64-generic", "header amd64-generic",
                                                             "twin amd64-generic"]


def test_plugins_must_be_plugin_folders(tmp_path):
    shutil.copytree(ROOT / "examples" / "hello-plugin", tmp_path / "hello")
    (tmp_path / "krakend-tasks.toml").write_text('plugins = ["hello", "nothing-here"]\n')
    out = run([PYTHON, "-m", "krakend_tasks", "build"], tmp_path)
    assert out.returncode == 2 and "plugins: 'nothing-here' is not a folder of" in out.stderr
    (tmp_path / "nothing-here").mkdir()  # a folder, but in no module
    out = run([PYTHON, "-m", "krakend_tasks", "build"], tmp_path)
    assert out.returncode == 2 and "plugins: nothing-here has no go.mod, nor has any folder above it" in out.stderr
    (tmp_path / "gateway").mkdir()
    (tmp_path / "gateway" / "krakend-tasks.toml").write_text('plugins = ["../hello"]\n')
    out = run([PYTHON, "-m", "krakend_tasks", "build"], tmp_path / "gateway")
    assert out.returncode == 2 and "plugins: '../hello' is not a folder of" in out.stderr
    (tmp_path / "krakend-tasks.toml").write_text('plugins = ["hello"]\n')
    out = run([PYTHON, "-m", "krakend_tasks", "build", "--only", "other"], tmp_path)
    assert out.returncode == 2 and "no plugin 'other' among hello" in out.stderr


def test_two_plugins_named_alike_are_refused_and_a_folders_own_name_is_honoured(tmp_path):
    root = tmp_path / "gateway-plugins"
    release = resolve(VERSION)
    new(root / "plugins" / "handler", "server", "handler", module="example.com/a/handler", release=release)
    new(root / "otel" / "plugins" / "handler", "server", "handler", module="example.com/b/handler", release=release)
    (root / "krakend-tasks.toml").write_text(
        f'version = "{VERSION}"\nplugins = ["plugins/handler", "otel/plugins/handler"]\n')
    out = run([PYTHON, "-m", "krakend_tasks", "check", "--target", "amd64-generic"], root)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "plugins 'plugins/handler' and 'otel/plugins/handler' are both named 'handler'" in out.stderr
    own = root / "otel" / "plugins" / "handler" / "krakend-tasks.toml"
    own.write_text('name = "otel-handler"\n' + own.read_text())
    from krakend_tasks.core.project.settings import load_settings

    assert [p.plugin_name() for p in load_settings(root).per_plugin()] == ["handler", "otel-handler"]


def test_packages_of_one_module_are_plugins_of_their_own(tmp_path, cross, krakend_bins):
    """One go.mod, a plugin package per folder: each entry of `plugins` is named after its folder."""
    root = tmp_path / "one-module"
    release = resolve(VERSION)
    for kind, name in (("server", "greeter"), ("modifier", "header")):
        new(tmp_path / name, kind, name, release=release)
        (root / "plugin" / name).mkdir(parents=True)
        for file in ("main.go", "plugin.go"):
            shutil.copy(tmp_path / name / file, root / "plugin" / name / file)
    (root / "go.mod").write_text((tmp_path / "greeter" / "go.mod").read_text().replace(
        "example.com/krakend-plugins/greeter", "example.com/gateway"))
    shutil.copy(tmp_path / "greeter" / "go.sum", root / "go.sum")
    (root / "krakend-tasks.toml").write_text(f'version = "{VERSION}"\nplugins = ["plugin/greeter", "plugin/header"]\n')
    out = run([PYTHON, "-m", "krakend_tasks", "build", "--engine", "local", "--target", "amd64-generic", "--json"],
              root)
    assert out.returncode == 0, out.stderr[-3000:]
    files = [str(root / "dist" / f"{name}-{VERSION}-amd64-generic.so") for name in ("greeter", "header")]
    assert sorted(a["path"] for a in json.loads(out.stdout)["artifacts"]) == [f.rsplit("/", 1)[1] for f in files]
    opened = krakend(krakend_bins, "amd64-generic", "test-plugin", "-s", "-m", *files)
    for file, kind in zip(files, ("SERVER", "MODIFIER"), strict=True):
        assert f"[OK] {kind}\t{file.rsplit('/', 1)[1]}\n" in opened.stderr, opened.stderr

    # one of them, by its folder's name; and two packages named alike are refused, both named
    one = run([PYTHON, "-m", "krakend_tasks", "check", "--only", "header", "--target", "amd64-generic", "--format",
               "json"], root)
    assert list(json.loads(one.stdout)["reports"]) == ["amd64-generic"], one.stderr
    shutil.copytree(root / "plugin" / "header", root / "more" / "greeter")
    (root / "krakend-tasks.toml").write_text('plugins = ["plugin/greeter", "more/greeter"]\n')
    out = run([PYTHON, "-m", "krakend_tasks", "check"], root)
    assert out.returncode == 2 and "'plugin/greeter' and 'more/greeter' are both named 'greeter'" in out.stderr
