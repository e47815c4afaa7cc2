"""What warm runs reuse is keyed so that a change is never answered from an old entry: a KrakenD
binary rewritten at the same path, a go.sum or go.mod edited, a setting changed, a plugin built
anew. Each test changes one thing between two runs and sees the second run answer for the change."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess

import pytest

from krakend_tasks.core.golang.fingerprints import plugin_fingerprints, read_fingerprints
from krakend_tasks.core.project.settings import load_settings
from krakend_tasks.core.targets import ALL_TARGETS

from .conftest import PYTHON, VERSION, build_in, copy_example, docker_settings, krakend, run


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "krakend-tasks"


def check_json(project, *args: str) -> dict:
    done = run([PYTHON, "-m", "krakend_tasks", "check", "--target", "amd64-generic", "--format", "json", *args],
               project)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)["reports"]["amd64-generic"]


def test_a_krakend_binary_rewritten_in_place_is_read_again(cache, krakend_bins, tmp_path):
    project = copy_example(tmp_path / "hello")
    binary = tmp_path / "krakend"
    shutil.copyfile(krakend_bins["amd64-generic"], binary)
    first = check_json(project, "--krakend-bin", str(binary))
    assert first["ok"] and first["krakend_libc"] == "GLIBC-2.36_(debian-12)"
    inode = binary.stat().st_ino
    shutil.copyfile(krakend_bins["amd64-alpine"], binary)  # the same file, other bytes
    assert binary.stat().st_ino == inode
    second = check_json(project, "--krakend-bin", str(binary))
    assert second["krakend_libc"] == "MUSL-1.2.5_(alpine-3.23)" and not second["ok"]
    assert [d["name"] for d in second["diffs"]] == ["libc"]


def test_an_elf_file_rewritten_in_place_is_described_anew_and_a_warm_read_imports_no_elf_reader(cache, krakend_bins,
                                                                                               tmp_path):
    from krakend_tasks.core.golang import elf

    binary = tmp_path / "krakend"
    shutil.copyfile(krakend_bins["amd64-generic"], binary)
    described = "; ".join(f"from krakend_tasks.core.golang.elf import {f}; {f}({str(binary)!r})"
                          for f in ("read_elf", "program_target"))
    probe = [PYTHON, "-c", f"import sys; {described}; print('elftools' in sys.modules)"]
    first, warm = (subprocess.run(probe, capture_output=True, text=True, check=True).stdout for _ in range(2))
    assert (first, warm) == ("True\n", "False\n")
    assert elf.read_elf(binary) == elf._read_elf(binary)  # remembered as read
    assert str(elf.program_target(binary)) == "amd64-generic" and elf.read_elf(binary).libc == "glibc"
    inode = binary.stat().st_ino
    shutil.copyfile(krakend_bins["amd64-alpine"], binary)  # the same file, other bytes
    assert binary.stat().st_ino == inode
    assert str(elf.program_target(binary)) == "amd64-alpine" and elf.read_elf(binary).libc == "musl"
    for entry in (cache / "elf").iterdir():
        entry.write_text("{damaged")
    assert elf.read_elf(binary) == elf._read_elf(binary)  # a damaged entry is read anew


def test_an_edited_go_sum_and_go_mod_are_checked_anew(cache, krakend_bins, tmp_path):
    project = copy_example(tmp_path / "hello")
    binary = str(krakend_bins["amd64-generic"])
    assert check_json(project, "--krakend-bin", binary)["ok"]
    go_sum = (project / "go.sum").read_text()
    (project / "go.sum").write_text(go_sum.replace("github.com/google/uuid v1.6.0", "github.com/google/uuid v1.5.0"))
    for args in (("--krakend-bin", binary), ()):  # the binary's modules, and the bundled ones
        found = check_json(project, *args)
        assert not found["ok"]
        assert [(d["name"], d["have"], d["want"]) for d in found["diffs"]] == [
            ("github.com/google/uuid", "v1.5.0", "v1.6.0")]
    real = krakend(krakend_bins, "amd64-generic", "check-plugin", "-s", str(project / "go.sum"),
                   "-l", "GLIBC-2.36_(debian-12)")  # the real KrakenD says the same of the edit
    assert real.returncode == 1 and "github.com/google/uuid" in real.stdout + real.stderr
    (project / "go.sum").write_text(go_sum)
    assert check_json(project, "--krakend-bin", binary)["ok"]
    gomod = (project / "go.mod").read_text()
    (project / "go.mod").write_text(gomod.replace("go 1.22", "go 1.26.1"))  # newer than KrakenD's Go
    done = run([PYTHON, "-m", "krakend_tasks", "build", "--engine", "local", "--target", "amd64-generic"], project)
    assert done.returncode == 2 and "1.26.1" in done.stderr


def test_a_changed_setting_is_taken(cache, tmp_path):
    project = copy_example(tmp_path / "hello")
    command = [PYTHON, "-m", "krakend_tasks", "check", "--format", "json"]
    assert sorted(json.loads(run(command, project).stdout)["reports"]) == sorted(t.name for t in ALL_TARGETS)
    settings = project / "krakend-tasks.toml"
    valid = settings.read_text()
    settings.write_text(valid.replace('version = "2.13.8"', 'version = "2.13.8"\ntargets = "arm64"'))
    assert sorted(json.loads(run(command, project).stdout)["reports"]) == ["arm64-alpine", "arm64-generic"]
    settings.write_text(valid.replace('version = "2.13.8"', 'version = "2.13.8"\ntargets = 5'))
    refused = run(command, project)  # a file that passed once, edited: checked again
    assert refused.returncode == 2 and "targets = 5" in refused.stderr
    settings.write_text(valid)
    assert list(json.loads(run(command, project, {"KRAKEND_TASKS_TARGETS": "amd64-alpine"}).stdout)["reports"]) == [
        "amd64-alpine"]
    assert run(command, project, {"KRAKEND_TASKS_TARGETS": "-amd64"}).returncode == 2


def test_unchanged_settings_are_not_parsed_nor_checked_again(cache, tmp_path):
    project = copy_example(tmp_path / "hello")
    probe = ("import sys; from krakend_tasks.core.project.settings import load_settings; "
             f"s = load_settings({str(project)!r}, targets='arm64'); "
             "print(s.smoke[0].path, [t.name for t in s.targets], 'tomllib' in sys.modules, 'msgspec' in sys.modules)")
    first, second = (run([PYTHON, "-c", probe], project).stdout.split() for _ in range(2))
    assert first == ["/__hello", "['arm64-alpine',", "'arm64-generic']", "True", "True"]
    assert second == ["/__hello", "['arm64-alpine',", "'arm64-generic']", "False", "False"]
    memo = json.loads((cache / "settings-checked.json").read_text())
    memo["passed"] = {key: "damaged" for key in memo["passed"]}
    (cache / "settings-checked.json").write_text(json.dumps(memo))
    third = run([PYTHON, "-c", probe], project).stdout.split()  # a damaged entry: checked anew
    assert third == ["/__hello", "['arm64-alpine',", "'arm64-generic']", "True", "True"]


def test_a_rebuild_keeps_an_unchanged_artifact_and_a_change_makes_a_new_one(cache, cross, krakend_bins, tmp_path):
    """Go skips the link of an up-to-date plugin: the artifact stays the same file (nothing to hash
    or compare again); a changed source or setting links anew, and every record follows the new file."""
    project = copy_example(tmp_path / "hello")
    settings = load_settings(project, engine="local", version=VERSION, targets="amd64-generic")
    [artifact] = build_in(settings)
    plugin = settings.dist_dir / artifact.path
    before, first = plugin.stat(), plugin_fingerprints(plugin)
    [again] = build_in(settings)
    after = plugin.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert again.sha256 == artifact.sha256

    source = project / "plugin.go"
    source.write_text(source.read_text() + "\nvar rebuilt = \"yes\"\n")
    [changed] = build_in(settings)
    assert changed.sha256 == hashlib.sha256(plugin.read_bytes()).hexdigest() != artifact.sha256
    tagged = load_settings(project, engine="local", version=VERSION, targets="amd64-generic", tags=["cachetest"])
    [retagged] = build_in(tagged)
    assert retagged.sha256 == hashlib.sha256(plugin.read_bytes()).hexdigest() != changed.sha256
    manifest = json.loads((settings.dist_dir / "manifest.json").read_text())["artifacts"]
    assert [a["sha256"] for a in manifest] == [retagged.sha256]
    go = {**os.environ, "GOTOOLCHAIN": f"go{settings.release.go}", "GOFLAGS": "-mod=mod"}
    subprocess.run(["go", "get", "github.com/google/uuid@v1.5.0"], cwd=project, env=go, check=True,
                   capture_output=True)
    build_in(settings, keep_unloadable=True)  # a uuid KrakenD does not link: its fingerprint changes
    now = plugin_fingerprints(plugin)
    assert now.modules["github.com/google/uuid"] == "v1.5.0"
    assert now.packages["github.com/google/uuid"] != first.packages["github.com/google/uuid"]
    assert now.packages == read_fingerprints(plugin).packages
    loaded = krakend(krakend_bins, "amd64-generic", "test-plugin", "-s", str(plugin))  # and the real KrakenD
    assert loaded.returncode == 1 and "different version of package github.com/google/uuid" in loaded.stderr


def test_a_docker_rebuild_keeps_an_unchanged_artifact_and_a_change_makes_a_new_one(cache, docker_client, tmp_path):
    project = copy_example(tmp_path / "hello")
    settings = load_settings(project, **docker_settings(), targets="amd64-generic")
    [artifact] = build_in(settings)
    plugin = settings.dist_dir / artifact.path
    before = plugin.stat()
    build_in(settings)
    after = plugin.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    source = project / "plugin.go"
    source.write_text(source.read_text() + "\nvar rebuilt = \"yes\"\n")
    [changed] = build_in(settings)
    assert changed.sha256 == hashlib.sha256(plugin.read_bytes()).hexdigest() != artifact.sha256
    assert plugin.stat().st_uid == before.st_uid
