"""Real builds with the host toolchain, for all four targets, then really loaded."""

import json

import pytest

from krakend_tasks.core.building.build import build
from krakend_tasks.core.golang.elf import read_elf
from krakend_tasks.core.project.manifest import read_manifest
from krakend_tasks.core.project.settings import load_settings
from krakend_tasks.core.targets import parse_target
from krakend_tasks.core.verifying.testload import load_local
from krakend_tasks.engines.local import LocalEngine
from krakend_tasks.errors import BuildFailed, ConfigError, GoModuleError

from .conftest import EXPECTED, VERSION, build_example, build_in


@pytest.fixture(scope="module")
def built(tmp_path_factory, cross):
    return build_example(tmp_path_factory, engine="local", version=VERSION)


def test_every_target_is_the_right_elf(built):
    settings, artifacts, lines = built
    assert [a.target for a in artifacts] == list(EXPECTED)
    for a in artifacts:
        path = settings.dist_dir / a.path
        assert a.path == f"hello-{VERSION}-{a.target}.so"
        elf = read_elf(path)
        assert (elf.arch, elf.libc) == EXPECTED[a.target], a.target
        assert elf.elf_type == "ET_DYN" and elf.build_info.settings["-buildmode"] == "plugin"
        assert elf.build_info.go == "1.25.12"  # GOTOOLCHAIN pinned to KrakenD 2.13.8's Go
        assert elf.registerers == ("HandlerRegisterer",)
    assert any("libc may differ" in line for line in lines)


def test_manifest_records_each_artifact(built):
    settings, artifacts, _ = built
    manifest = json.loads((settings.dist_dir / "manifest.json").read_text())
    assert [e["target"] for e in manifest["artifacts"]] == list(EXPECTED)
    for entry, artifact in zip(manifest["artifacts"], artifacts, strict=True):
        assert entry["sha256"] == artifact.sha256 and len(entry["sha256"]) == 64
        assert entry["size"] == (settings.dist_dir / entry["path"]).stat().st_size
        assert (entry["engine"], entry["krakend"], entry["go"]) == ("local", VERSION, "1.25.12")
    assert read_manifest(settings.dist_dir) == artifacts
    assert not list(settings.dist_dir.glob(".*partial"))


@pytest.mark.parametrize("target", list(EXPECTED))
def test_each_target_loads_in_a_go_loader_of_the_same_go(built, target):
    settings, _, _ = built
    plugin = settings.dist_dir / f"hello-{VERSION}-{target}.so"
    result = load_local([plugin], ["server"], settings.recipe(parse_target(target)), settings.release)
    assert result.ok, result.output
    assert result.checks[0].kind == "SERVER" and result.checks[0].detail == "registered: hello"


def test_a_musl_plugin_fails_in_a_glibc_loader(built):
    settings, _, _ = built
    plugin = settings.dist_dir / f"hello-{VERSION}-amd64-alpine.so"
    result = load_local([plugin], ["server"], settings.recipe(parse_target("amd64-generic")), settings.release)
    assert not result.ok
    assert result.checks[0].kind == "OPEN" and "invalid ELF header" in result.checks[0].detail


def test_compile_error_is_a_build_failure_and_keeps_the_old_artifact(example, cross):
    settings = load_settings(example, engine="local", version=VERSION, targets="amd64-generic")
    build_in(settings)
    good = (settings.dist_dir / f"hello-{VERSION}-amd64-generic.so").read_bytes()
    (example / "broken.go").write_text("package main\n\nfunc broken() { undefined_name() }\n")
    lines: list[str] = []
    with pytest.raises(BuildFailed) as err:
        build(settings, LocalEngine(), log=lines.append)
    assert "go build failed for amd64-generic" in str(err.value) and err.value.exit_code == 6
    assert any("undefined: undefined_name" in line for line in lines)
    assert (settings.dist_dir / f"hello-{VERSION}-amd64-generic.so").read_bytes() == good
    assert not list(settings.dist_dir.glob(".*partial"))


def test_no_go_mod(tmp_path):
    with pytest.raises(GoModuleError) as err:
        build_in(load_settings(tmp_path, engine="local"))
    assert "go.mod not found" in str(err.value) and err.value.exit_code == 3


def test_go_line_newer_than_krakend_go(example):
    (example / "go.mod").write_text("module example.com/x\n\ngo 1.26.0\n")
    with pytest.raises(ConfigError, match=r"requires go 1\.26\.0, but KrakenD is built with Go 1\.25\.12"):
        build_in(load_settings(example, engine="local", version=VERSION))


def test_no_generic_builder_before_2_1_3(example):
    (example / "go.mod").write_text("module example.com/x\n\ngo 1.17\n")
    with pytest.raises(ConfigError, match="has no generic builder"):
        build_in(load_settings(example, engine="local", version="2.0.6", targets="generic"))


def test_auto_falls_back_to_the_local_engine_and_says_why(monkeypatch):
    from krakend_tasks.engines import select_engine

    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    said: list[str] = []
    assert isinstance(select_engine("auto", log=said.append), LocalEngine)
    assert said and said[0].startswith("engine auto: building on the host (local engine), no Docker daemon answers")


def test_a_build_krakend_would_refuse_fails_unless_kept(tmp_path, cross, krakend_bins):
    """The plugin links xxhash v2.2.0 (as go-redis v9.7.3 pulls it), KrakenD links v2.3.0: the build
    fails with the package the real KrakenD names, leaves nothing behind, or is kept when asked."""
    import os
    import subprocess

    from krakend_tasks.core.building.build import judge_build
    from krakend_tasks.core.krakend.releases import resolve
    from krakend_tasks.core.workflows.scaffold import new
    from krakend_tasks.errors import UnloadableBuild

    from .conftest import PYTHON, krakend, run

    project = tmp_path / "hasher"
    new(project, "server", "hasher", release=resolve(VERSION))
    (project / "hash.go").write_text('package main\n\nimport "github.com/cespare/xxhash/v2"\n\n'
                                     'var seed = xxhash.Sum64String("krakend")\n')
    subprocess.run(["go", "get", "github.com/cespare/xxhash/v2@v2.2.0"], cwd=project, check=True,
                   env={**os.environ, "GOTOOLCHAIN": "go1.25.12", "GOFLAGS": "-mod=mod"}, capture_output=True)
    so = project / "dist" / f"hasher-{VERSION}-amd64-generic.so"
    command = [PYTHON, "-m", "krakend_tasks", "build", "--engine", "local", "--target", "amd64-generic"]
    out = run(command, project)
    said = "plugin was built with a different version of package github.com/cespare/xxhash/v2"
    assert out.returncode == 13 and "Traceback" not in out.stderr, out.stderr[-3000:]
    assert said in out.stderr and "KrakenD links v2.3.0" in out.stderr and "--keep-unloadable" in out.stderr
    assert sorted(p.name for p in (project / "dist").iterdir()) == []  # no artifact, no manifest, no partial

    kept = run([*command, "--keep-unloadable"], project)
    assert kept.returncode == 0 and "will not load" in kept.stderr and so.is_file(), kept.stderr[-3000:]
    real = krakend(krakend_bins, "amd64-generic", "test-plugin", "-s", str(so))
    assert real.returncode == 1 and f"[KO] SERVER\t{so.name}: {said}\n" in real.stderr, real.stderr

    # a release without a fingerprint table: the module versions KrakenD links decide
    settings = load_settings(project, version=VERSION, targets="amd64-generic")
    with pytest.raises(UnloadableBuild, match=r"xxhash/v2 v2\.2\.0, KrakenD links v2\.3\.0"):
        judge_build(settings, parse_target("amd64-generic"), so, None, lambda line: None, keep=False)
    assert not so.exists()
