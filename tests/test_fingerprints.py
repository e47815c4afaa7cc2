"""Loadable for real: package fingerprints of our builds against the real KrakenD CE 2.13.8's.

The yardstick is the real KrakenD CE 2.13.8 compiled from ../shared/krakend/source as the official
release is (.ci/krakend.sh; conftest.krakend_bins, one binary per target, arm64 under qemu): its
`test-plugin` opens our plugins with plugin.Open, and its fingerprints are the bundled tables'.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from krakend_tasks.core.building.fidelity import refuse_unloadable
from krakend_tasks.core.golang import fingerprints
from krakend_tasks.core.golang.gomod import read_go_mod
from krakend_tasks.core.krakend import fingerprints as krakend_fingerprints
from krakend_tasks.core.project.settings import load_settings
from krakend_tasks.core.targets import TARGET_NAMES, parse_target
from krakend_tasks.core.verifying.testload import LoadResult
from krakend_tasks.errors import KrakendTasksError, NoFingerprints, NotAPlugin, UnloadableBuild

from .conftest import PYTHON, ROOT, VERSION, build_in, docker_settings, krakend, our_containers, run

SHARED_PLUGIN = ROOT / "tests" / "data" / "shared-plugin"
SHARED_TABLES = ROOT.parent / "shared" / "krakend"
# packages of modules KrakenD links that the test plugin imports
SHARED_PACKAGES = {"github.com/google/uuid", "github.com/cespare/xxhash/v2", "golang.org/x/text/cases",
                   "golang.org/x/text/language", "golang.org/x/text/internal/language"}


def krakend_table(arch: str) -> fingerprints.Fingerprints:
    table = krakend_fingerprints.bundled(VERSION, arch)
    assert table is not None
    return table


def test_bundled_tables_are_the_real_krakend_data():
    for arch in ("amd64", "arm64"):
        if SHARED_TABLES.is_dir():
            shipped = ROOT / "krakend_tasks" / "data" / "krakend" / VERSION / f"pkghash-linux-{arch}.tsv"
            assert shipped.read_text() == (SHARED_TABLES / f"pkghash.v{VERSION}.linux-{arch}.tsv").read_text()
        table = krakend_table(arch)
        assert len(table.packages) > 1300 and table.go == "1.25.12" and table.arch == arch
        assert table.uncovered() == set()  # complete: lura and every krakend-* module too
        assert "github.com/luraproject/lura/v2/proxy" in table.packages


@pytest.mark.parametrize("target", TARGET_NAMES)
def test_bundled_tables_equal_what_the_real_krakend_gives(krakend_bins, target):
    """Every package fingerprint and linked module read from the real binary is the bundled table's
    (krakend-ce's own packages aside: compiled from the build folder, no plugin can import them)."""
    real = fingerprints.read_fingerprints(krakend_bins[target])
    table = krakend_table(target.split("-")[0])
    own = "github.com/krakend/krakend-ce/v2"
    assert {p: x.fingerprint for p, x in real.packages.items() if x.module != own} == \
        {p: x.fingerprint for p, x in table.packages.items()}
    assert real.modules == table.modules and real.go == table.go


@pytest.fixture(scope="module")
def shared_builds(tmp_path_factory, docker_client, cross) -> dict[tuple[str, str], Path]:
    """(engine, target) -> the shared-packages plugin built by that engine for that target."""
    out = {}
    for engine, options in (("docker", docker_settings()), ("local", {"engine": "local", "version": VERSION})):
        project = tmp_path_factory.mktemp(engine) / "shared"
        shutil.copytree(SHARED_PLUGIN, project)
        loaded = load_settings(project, **options)
        for artifact in build_in(loaded):
            out[(engine, artifact.target)] = loaded.dist_dir / artifact.path
    assert our_containers(docker_client) == []
    return out


@pytest.mark.parametrize("engine", ["docker", "local"])
@pytest.mark.parametrize("target", TARGET_NAMES)
def test_our_builds_have_krakends_fingerprints_and_load(shared_builds, krakend_bins, engine, target):
    plugin = shared_builds[(engine, target)]
    found = fingerprints.read_fingerprints(plugin)
    comparison = fingerprints.compare(found, krakend_table(target.split("-")[0]))
    assert set(found.packages) >= SHARED_PACKAGES
    assert comparison.ok, comparison.findings
    assert comparison.shared > 150  # the standard library is compared too
    loaded = krakend(krakend_bins, target, "test-plugin", "-s", str(plugin))
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert f"[OK] SERVER\t{plugin.name}" in loaded.stderr and "[OK] 1 tested plugin(s)" in loaded.stderr


def build_by_hand(project: Path, target: str, out: Path, *, modcache: Path | str, flags: tuple[str, ...] = ()) -> Path:
    """What users do by hand: the release's Go and the right compiler, but not KrakenD's module cache path."""
    recipe = load_settings(".", version=VERSION).recipe(parse_target(target))
    ldflags = recipe.linker_flags(on_host=True)
    env = {**os.environ, **recipe.environment(on_host=True), "GOTOOLCHAIN": "go1.25.12", "GOMODCACHE": str(modcache),
           "GOFLAGS": "-buildvcs=false"}
    command = ["go", "build", "-buildmode=plugin", *flags, *([f"-ldflags={ldflags}"] if ldflags else []),
               "-o", str(out), "."]
    subprocess.run(command, cwd=project, env=env, check=True, capture_output=True)
    return out


@pytest.mark.parametrize(("case", "target"), [
    ("home-modcache", "amd64-generic"), ("home-modcache", "arm64-generic"), ("trimpath", "amd64-alpine"),
])
def test_wrong_builds_fail_in_krakend_as_predicted(krakend_bins, tmp_path, case, target):
    """Same module versions, same Go: built from another module cache or with -trimpath, the plugin
    fails with Go's own message, and the static comparison named the same package beforehand."""
    project = tmp_path / "shared"
    shutil.copytree(SHARED_PLUGIN, project)
    if case == "trimpath":
        plugin = build_by_hand(project, target, tmp_path / "p.so", modcache="/go/pkg/mod", flags=("-trimpath",))
    else:
        plugin = build_by_hand(project, target, tmp_path / "p.so", modcache=tmp_path / "gopath" / "pkg" / "mod")
    comparison = fingerprints.compare(fingerprints.read_fingerprints(plugin), krakend_table(target.split("-")[0]))
    assert not comparison.ok and comparison.error is not None
    loaded = krakend(krakend_bins, target, "test-plugin", "-s", str(plugin))
    assert loaded.returncode == 1
    assert f"{comparison.error}\n" in loaded.stderr  # plugin.Open's error names the same package
    modules = {f.subject for f in comparison.findings}
    if case == "trimpath":
        assert "std" in modules and all("-trimpath" in f.message for f in comparison.findings)
    else:
        assert modules == {"github.com/google/uuid", "github.com/cespare/xxhash/v2", "golang.org/x/text"}
        assert all("compiled from another path" in f.message for f in comparison.findings)
    # test: KO, in Go's words. With another module cache the stdlib-only Go loader opens it (it shares
    # no module package), which is why the fingerprints are compared; -trimpath changes stdlib too.
    (tmp_path / "krakend-tasks.toml").write_text(f'version = "{VERSION}"\n')
    out = run([PYTHON, "-m", "krakend_tasks", "test-load", "--path", str(plugin), "--target", target, "--json"],
              tmp_path)
    assert out.returncode == 1, out.stderr
    [row] = json.loads(out.stdout)["plugins"]
    assert row["checks"][0]["ok"] is (case != "trimpath") and row["loader"] == "Go loader"
    assert row["ok"] is False and row["packages"]["state"] == "KO" and row["packages"]["error"] == comparison.error
    # inspect against the real binary predicts it too (its fingerprints read from the file)
    out = run([PYTHON, "-m", "krakend_tasks", "inspect", "--path", str(plugin), "--target", target,
               "--krakend-bin", str(krakend_bins[target]), "--json"], tmp_path)
    assert out.returncode == 1
    messages = [f["message"] for f in json.loads(out.stdout)["plugins"][0]["findings"]]
    assert any(m.startswith(comparison.error) for m in messages), messages


def test_wrong_version_of_a_shared_module_is_named_with_its_fix(shared_builds, tmp_path, cross):
    """uuid v1.5.0 where KrakenD links v1.6.0: Go's message, and `go get` of KrakenD's version."""
    project = tmp_path / "shared"
    shutil.copytree(SHARED_PLUGIN, project)
    env = {**os.environ, "GOTOOLCHAIN": "go1.25.12", "GOFLAGS": "-mod=mod", "GOMODCACHE": "/go/pkg/mod"}
    subprocess.run(["go", "get", "github.com/google/uuid@v1.5.0"], cwd=project, env=env, check=True,
                   capture_output=True)
    with pytest.raises(UnloadableBuild, match=r"different version of package github\.com/google/uuid"):
        build_in(load_settings(project, engine="local", version=VERSION, targets="amd64-generic"))
    artifact = build_in(load_settings(project, engine="local", version=VERSION, targets="amd64-generic"),
                        keep_unloadable=True)[0]
    comparison = fingerprints.compare(fingerprints.read_fingerprints(project / "dist" / artifact.path),
                                      krakend_table("amd64"))
    assert comparison.error == "plugin was built with a different version of package github.com/google/uuid"
    [finding] = comparison.findings
    assert "links github.com/google/uuid v1.5.0, KrakenD links v1.6.0" in finding.message
    assert finding.fix.startswith("go get github.com/google/uuid@v1.6.0")
    out = run([PYTHON, "-m", "krakend_tasks", "check", "--version", VERSION, "--target", "amd64-generic"], project)
    assert out.returncode == 1 and "go get github.com/google/uuid@v1.6.0" in out.stdout


def test_not_compared_is_said_not_hidden(shared_builds):
    """A release with no known fingerprints: the result says so instead of a bare OK."""
    from krakend_tasks.render import packages_state, print_loads

    plugin = shared_builds[("local", "amd64-generic")]
    result = LoadResult(ok=True)
    result = result.compare_packages(plugin, "amd64", "2.12.1")
    assert result.ok and result.packages is None and packages_state(result) == "NOT COMPARED"
    assert "not compared: none known for KrakenD 2.12.1 linux/amd64" in result.packages_summary
    import io

    out = io.StringIO()
    print_loads([(plugin, parse_target("amd64-generic"), result)], out=out)
    assert "PACKAGES\tNOT COMPARED\tpackage fingerprints not compared" in out.getvalue()


# Build fidelity: what would make an unloadable plugin is refused before building ---------------


@pytest.fixture
def shared_project(tmp_path) -> Path:
    project = tmp_path / "shared"
    shutil.copytree(SHARED_PLUGIN, project)
    return project


def cli_build(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return run([PYTHON, "-m", "krakend_tasks", "build", "--version", VERSION, "--engine", "local", *args], project,
               env=env)


@pytest.mark.parametrize(("setup", "env", "message", "hint"), [
    ('[target.amd64-generic]\nenv = { GOFLAGS = "-trimpath" }\n', {}, "GOFLAGS has -trimpath", "remove -trimpath"),
    ("", {"GOFLAGS": "-buildvcs=false -trimpath=true"}, "GOFLAGS has -trimpath", "remove -trimpath"),
    ("vendor", {}, "vendor is in use", "delete vendor/"),
    ("replace", {}, "github.com/google/uuid is replaced by the local folder ./uuid, but KrakenD links",
     "go mod edit -dropreplace github.com/google/uuid"),
    ("modcache", {}, "cannot be created or written by this user", "sudo mkdir -p"),
])
def test_unloadable_builds_are_refused(shared_project, setup, env, message, hint):
    args = ["--target", "amd64-generic"]
    if setup == "vendor":
        (shared_project / "vendor").mkdir()
        (shared_project / "vendor" / "modules.txt").write_text("# github.com/google/uuid v1.6.0\n")
    elif setup == "replace":
        with (shared_project / "go.mod").open("a") as f:
            f.write("\nreplace github.com/google/uuid => ./uuid\n")
    elif setup == "modcache":
        (shared_project / "afile").write_text("")
        env = {"KRAKEND_TASKS_MODCACHE": str(shared_project / "afile" / "pkg" / "mod")}
    elif setup:
        (shared_project / "krakend-tasks.toml").write_text(setup)
    out = cli_build(shared_project, *args, env=env)
    assert out.returncode == 13, out.stderr
    assert message in out.stderr and f"hint: {hint}" in out.stderr
    assert "Traceback" not in out.stderr
    assert not (shared_project / "dist").exists()


def test_local_replace_of_a_module_krakend_does_not_link_is_a_warning(shared_project):
    with (shared_project / "go.mod").open("a") as f:
        f.write("\nreplace example.com/mine => ../mine\n")
    known = set(krakend_table("amd64").modules)
    gomod = read_go_mod(shared_project / "go.mod")
    assert refuse_unloadable({}, shared_project, gomod, known) == []
    [warning] = refuse_unloadable({}, shared_project, gomod, None)
    assert "example.com/mine is replaced by the local folder ../mine" in warning
    with pytest.raises(UnloadableBuild):
        refuse_unloadable({"GOFLAGS": "-mod=vendor"}, shared_project, gomod, known)
    assert refuse_unloadable({"GOFLAGS": "-trimpath=false"}, shared_project, gomod, known) == []


# KrakenD's side: binary (cached by digest), image (cached by version/arch), bad files ----------


def test_binary_source_is_cached_by_digest(krakend_bins, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    binary = tmp_path / "krakend"
    shutil.copy(krakend_bins["amd64-generic"], binary)
    first = krakend_fingerprints.from_binary(binary)
    digest = __import__("hashlib").sha256(binary.read_bytes()).hexdigest()
    cached = tmp_path / "cache" / "krakend-tasks" / "fingerprints" / f"sha256-{digest}.tsv"
    assert cached.is_file()
    assert krakend_fingerprints.from_binary(binary).packages == first.packages
    assert first.packages == fingerprints.read_fingerprints(binary).packages
    assert first.arch == "amd64" and first.go == "1.25.12"


def test_image_source_reads_the_targets_platform(krakend_bins, docker_client, tmp_path, monkeypatch):
    """An arm64 KrakenD image (the real arm64 musl KrakenD in an image built FROM scratch for
    linux/arm64: the daemon here cannot run arm64 images, and reading needs none): its
    /usr/bin/krakend is copied out for linux/arm64, never run, and, as KrakenD's own image of the
    release, cached by version and arch."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    context = tmp_path / "image"
    context.mkdir()
    shutil.copy(krakend_bins["arm64-alpine"], context / "krakend")
    (context / "Dockerfile").write_text("FROM scratch\nCOPY krakend /usr/bin/krakend\n")
    docker_client.images.build(path=str(context), tag="local/krakend-arm64:test", platform="linux/arm64")
    with pytest.raises(KrakendTasksError, match=r"not present for linux/amd64 .*here it is linux/arm64"):
        krakend_fingerprints.from_image("local/krakend-arm64:test", "amd64", "9.9.9", "never")
    found = krakend_fingerprints.for_krakend("9.9.9", "arm64", image="local/krakend-arm64:test", pull="never")
    assert found is not None and found.arch == "arm64"
    assert found.packages == fingerprints.read_fingerprints(krakend_bins["arm64-alpine"]).packages
    # an image given (a custom or an Enterprise build) is never taken for the release: not cached
    assert krakend_fingerprints.for_krakend("9.9.9", "arm64") is None
    official = krakend_fingerprints.for_krakend("9.9.9", "arm64", official="local/krakend-arm64:test", pull="never")
    assert official is not None and official.packages == found.packages
    again = krakend_fingerprints.for_krakend("9.9.9", "arm64")  # no image, no daemon needed: the cache
    assert again is not None and again.packages == found.packages and again.source.endswith("(cached)")
    assert our_containers(docker_client) == []
    with pytest.raises(KrakendTasksError, match="has no /usr/bin/nothing"):
        krakend_fingerprints.from_image("local/krakend-arm64:test", "arm64", "9.9.9", "never", "/usr/bin/nothing")


@pytest.fixture(scope="module")
def go_without_plugins(tmp_path_factory, cross) -> Path:
    """A Go program that does not import "plugin": Go writes no fingerprints into it."""
    folder = tmp_path_factory.mktemp("plain")
    (folder / "go.mod").write_text("module plain\n\ngo 1.22\n")
    (folder / "main.go").write_text('package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hi") }\n')
    subprocess.run(["go", "build", "-o", "plain", "."], cwd=folder, check=True,
                   env={**os.environ, "GOTOOLCHAIN": "go1.25.12"})
    return folder / "plain"


@pytest.mark.parametrize(("kind", "error", "message"), [
    ("text", NotAPlugin, "is not an ELF file"),
    ("not-go", NotAPlugin, "is not a Go program or plugin"),
    ("no-plugin-support", NoFingerprints, "holds no package fingerprints"),
    ("truncated", NotAPlugin, "damaged ELF file"),
])
def test_bad_krakend_binaries(krakend_bins, go_without_plugins, shared_builds, tmp_path, kind, error, message):
    path = tmp_path / "krakend"
    if kind == "text":
        path.write_text("#!/bin/sh\necho krakend\n")
    elif kind == "not-go":
        shutil.copy("/bin/true", path)
    elif kind == "no-plugin-support":
        shutil.copy(go_without_plugins, path)
    else:
        data = shared_builds[("local", "amd64-generic")].read_bytes()
        path.write_bytes(data[: len(data) // 3])
    with pytest.raises(error, match=message):
        fingerprints.read_fingerprints(path)
    (tmp_path / "krakend-tasks.toml").write_text(f'version = "{VERSION}"\n')
    out = run([PYTHON, "-m", "krakend_tasks", "inspect", "--path", str(shared_builds[("local", "amd64-generic")]),
               "--krakend-bin", str(path)], tmp_path)
    assert out.returncode in (8, 9, 12) and str(path) in out.stderr and "Traceback" not in out.stderr


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_fingerprint_reading(shared_builds, tmp_path_factory, data):
    """Random bytes, truncations and byte flips of a real plugin: a result or a clear error, never a crash."""
    original = shared_builds[("local", "amd64-generic")].read_bytes()
    how = data.draw(st.sampled_from(["random", "truncate", "flip"]))
    if how == "random":
        blob = b"\x7fELF" + data.draw(st.binary(max_size=4096))
    elif how == "truncate":
        blob = original[: data.draw(st.integers(0, len(original)))]
    else:
        rng = random.Random(data.draw(st.integers(0, 2**32)))
        blob = bytearray(original)
        for _ in range(data.draw(st.integers(1, 64))):  # the ELF header up front, section headers at the end
            at = rng.randrange(1 << 16) if rng.random() < 0.5 else len(blob) - 1 - rng.randrange(1 << 16)
            blob[at] = rng.randrange(256)
        blob = bytes(blob)
    path = tmp_path_factory.mktemp("fuzz") / "f.so"
    path.write_bytes(blob)
    with contextlib.suppress(KrakendTasksError):
        fingerprints.read_fingerprints(path)


def test_a_release_without_tables_is_compared_with_krakends_image(krakend_image, shared_builds, tmp_path,
                                                                  monkeypatch, capsys):
    """For a release with no bundled table, test, inspect and check read KrakenD's image
    `<krakend-image>:<version>` (pull never: no registry here), cached per version and architecture.
    The only release whose real KrakenD exists here is 2.13.8, so its bundled data is hidden: the
    one thing this test pretends is that absence."""
    from krakend_tasks import commands
    from krakend_tasks.core.krakend import deps as krakend_deps

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(krakend_fingerprints, "_bundled", lambda version, arch: None)
    monkeypatch.setattr(krakend_deps, "bundled_modules", lambda version, arch="amd64": None)
    plugin = shared_builds[("docker", "amd64-alpine")]
    project = plugin.parent.parent
    image = dict(krakend_image=krakend_image.split(":")[0], pull="never", version=VERSION)
    assert commands.test_load(project, paths=[str(plugin)], json=True, **image) == 0
    [row] = json.loads(capsys.readouterr().out)["plugins"]
    assert row["packages"]["state"] == "OK" and f"image {krakend_image}" in row["packages"]["summary"]
    assert commands.inspect(project, paths=[str(plugin)], json=True, **image) == 0
    capsys.readouterr()
    assert commands.check(project, output="json", targets="amd64-alpine", **image) == 0
    [report] = json.loads(capsys.readouterr().out)["reports"].values()
    assert f"image {krakend_image}" in json.dumps(report)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/none.sock")  # the cache answers now
    found = krakend_fingerprints.for_krakend(VERSION, "amd64", official=krakend_image)
    assert found is not None and found.source.endswith("(cached)")
    missing = LoadResult(ok=True)  # an image that is not there: said, not a traceback
    missing = missing.compare_packages(plugin, "arm64", VERSION, official="local/nothing:1", pull="never")
    assert missing.packages is None and "local/nothing:1" in missing.packages_summary
