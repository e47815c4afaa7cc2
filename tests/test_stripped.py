"""Stripped plugins and binaries: fingerprints read from Go's module data, verdicts as KrakenD's.

`-ldflags="-s -w"` and `strip --strip-all` remove the symbol table; plugin.Open still compares
every package's fingerprint, from the plugin's module data (`moduledata.pkghashes`) and the
program's dynamic symbols. The layouts are checked on real builds of several Go versions (the
oldest Go here is Debian's golang-1.19; the newest the release table's and the host's), for amd64
and arm64, against the symbol table of the same file; the verdicts against the real KrakenD's
`test-plugin`.
"""

from __future__ import annotations

import json
import mmap
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from krakend_tasks.core.golang import fingerprints
from krakend_tasks.core.golang.elf import read_elf
from krakend_tasks.core.golang.moduledata import read_moduledata
from krakend_tasks.core.project.settings import load_settings
from krakend_tasks.core.targets import parse_target
from krakend_tasks.errors import NoFingerprints

from .conftest import PYTHON, ROOT, VERSION, build_in, krakend, need, run

SHARED_PLUGIN = ROOT / "tests" / "data" / "shared-plugin"
GO119 = Path("/usr/lib/go-1.19/bin")  # Debian's golang-1.19-go (.ci/setup-host.sh)
STRIP = {"amd64": "strip", "arm64": "aarch64-linux-gnu-strip"}
CC = {"amd64": "gcc", "arm64": "aarch64-linux-gnu-gcc"}
PLUGIN_GO = """package main

import "github.com/google/uuid"

// HandlerRegisterer is what KrakenD looks up.
var HandlerRegisterer = registerer("layouts")

type registerer string

func (r registerer) RegisterHandlers(f func(string, interface{})) { f(string(r), uuid.NewString) }

func main() {}
"""


def module_data(path: Path):
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        elf = ELFFile(data)  # type: ignore[arg-type]
        go = read_elf(path).build_info
        return read_moduledata(elf, data, go.go if go else "")


def symbol_table(path: Path) -> list[tuple[str, str]]:
    """(package, fingerprint) in Go's check order, from the symbol table (go:link. or, before Go 1.20,
    go.link. names)."""
    with path.open("rb") as f:
        elf = ELFFile(f)
        table, order, hashes = elf.get_section_by_name(".symtab"), {}, {}
        for symbol in table.iter_symbols():
            name = symbol.name.replace("go.link.", "go:link.", 1)
            if name.startswith(fingerprints.ORDER_NAME) or name.startswith(fingerprints.HASH):
                section = elf.get_section(symbol["st_shndx"])
                f.seek(section["sh_offset"] + symbol["st_value"] - section["sh_addr"])
                value = f.read(symbol["st_size"])
                if name.startswith(fingerprints.HASH):
                    hashes[name[len(fingerprints.HASH):]] = value.hex()
                elif name[len(fingerprints.ORDER_NAME):].isdigit():
                    order[int(name[len(fingerprints.ORDER_NAME):])] = value.decode()
    return [(order[i], hashes[order[i]]) for i in sorted(order)]


GOS = [("1.19", "amd64"), ("1.19", "arm64"), ("go1.22.2", "amd64"), ("go1.25.12", "amd64"),
       ("go1.25.12", "arm64"), ("local", "amd64")]


@pytest.fixture(scope="module")
def layouts(tmp_path_factory, cross) -> dict[tuple[str, str], Path]:
    """(Go, arch) -> a plugin built by that Go, with its symbol table."""
    need("cross", (GO119 / "go").is_file(), f"{GO119}/go missing (apt-get install golang-1.19-go)")
    folder = tmp_path_factory.mktemp("layouts")
    (folder / "go.mod").write_text("module example.com/layouts\n\ngo 1.19\n\nrequire github.com/google/uuid v1.6.0\n")
    (folder / "main.go").write_text(PLUGIN_GO)
    shutil.copy(SHARED_PLUGIN / "go.sum", folder / "go.sum")
    out = {}
    for go, arch in GOS:
        env = {**os.environ, "CGO_ENABLED": "1", "GOARCH": arch, "CC": CC[arch], "GOFLAGS": "-mod=mod"}
        if go == "1.19":
            env |= {"PATH": f"{GO119}:{env['PATH']}", "GOTOOLCHAIN": "local"}
        else:
            env["GOTOOLCHAIN"] = go
        plugin = folder / f"{go}-{arch}.so"
        subprocess.run(["go", "build", "-buildmode=plugin", "-o", str(plugin), "."], cwd=folder, env=env,
                       check=True, capture_output=True, timeout=900)
        out[(go, arch)] = plugin
    return out


@pytest.mark.parametrize(("go", "arch"), GOS)
def test_module_data_holds_what_the_symbol_table_says(layouts, tmp_path, go, arch):
    plugin = layouts[(go, arch)]
    expected = symbol_table(plugin)
    assert len(expected) > 50 and ("github.com/google/uuid", dict(expected)["github.com/google/uuid"]) in expected
    stripped = tmp_path / "stripped.so"
    subprocess.run([STRIP[arch], "--strip-all", "-o", str(stripped), str(plugin)], check=True)
    for path in (plugin, stripped):
        found = module_data(path)
        assert found is not None, path
        assert list(found.pkghashes) == expected
        assert found.exported == ("HandlerRegisterer",) and found.pluginpath == "example.com/layouts"
    if go != "1.19":  # Go writes build info into plugins since Go 1.20
        whole, bare = fingerprints.read_fingerprints(plugin), fingerprints.read_fingerprints(stripped)
        assert bare.packages == whole.packages and bare.modules == whole.modules and bare.arch == arch
        assert (whole.read_from, bare.read_from) == ("symbol table", "module data")
        assert read_elf(stripped).registerers == ("HandlerRegisterer",)


# Verdicts: the real KrakenD CE 2.13.8 and ours, on stripped builds ---------------------------------


def stripped_builds(tmp_path: Path, target: str, uuid: str) -> dict[str, Path]:
    """The shared-packages plugin at google/uuid `uuid`, built by krakend-tasks with -s -w, and a
    strip --strip-all of the unstripped build."""
    project = tmp_path / "shared"
    shutil.copytree(SHARED_PLUGIN, project)
    env = {**os.environ, "GOTOOLCHAIN": "go1.25.12", "GOFLAGS": "-mod=mod", "GOMODCACHE": "/go/pkg/mod"}
    if uuid != "v1.6.0":
        subprocess.run(["go", "get", f"github.com/google/uuid@{uuid}"], cwd=project, env=env, check=True,
                       capture_output=True)
    recipe = load_settings(project, version=VERSION).recipe(parse_target(target))
    cross = recipe.linker_flags(on_host=True) or ""
    out = {}
    for kind, ldflags in (("unstripped", cross), ("s-w", f"-s -w {cross}".strip())):
        (project / "krakend-tasks.toml").write_text(f'[target.{target}]\nldflags = "{ldflags}"\n')
        [artifact] = build_in(load_settings(project, engine="local", version=VERSION, targets=target),
                              keep_unloadable=True)
        out[kind] = tmp_path / f"{kind}.so"
        shutil.copy(project / "dist" / artifact.path, out[kind])
    out["strip-all"] = tmp_path / "strip-all.so"
    arch = target.split("-")[0]
    subprocess.run([STRIP[arch], "--strip-all", "-o", str(out["strip-all"]), str(out["unstripped"])], check=True)
    assert ELFFile(out["s-w"].open("rb")).get_section_by_name(".symtab") is None
    return out


@pytest.mark.parametrize(("target", "uuid"), [("amd64-generic", "v1.6.0"), ("amd64-generic", "v1.5.0"),
                                              ("arm64-alpine", "v1.5.0")])
def test_stripped_plugins_get_krakends_verdict(krakend_bins, tmp_path, target, uuid):
    builds = stripped_builds(tmp_path, target, uuid)
    stripped_krakend = tmp_path / "krakend-stripped"
    arch = target.split("-")[0]
    subprocess.run([STRIP[arch], "--strip-all", "-o", str(stripped_krakend), str(krakend_bins[target])], check=True)
    (tmp_path / "krakend-tasks.toml").write_text(f'version = "{VERSION}"\n')
    loadable = uuid == "v1.6.0"
    for kind in ("s-w", "strip-all"):
        plugin = builds[kind]
        real = krakend(krakend_bins, target, "test-plugin", "-s", str(plugin))
        assert (real.returncode == 0) is loadable, real.stderr
        if not loadable:
            assert "plugin was built with a different version of package github.com/google/uuid" in real.stderr
        ours = run([PYTHON, "-m", "krakend_tasks", "test-load", "--path", str(plugin), "--target", target, "--json"],
                   tmp_path)
        assert (ours.returncode == 0) is loadable, ours.stdout + ours.stderr
        [row] = json.loads(ours.stdout)["plugins"]
        assert row["packages"]["state"] == ("OK" if loadable else "KO"), row
        if not loadable:
            assert row["packages"]["error"] in real.stderr
        for krakend_side in ([], ["--krakend-bin", str(stripped_krakend)]):
            seen = run([PYTHON, "-m", "krakend_tasks", "inspect", "--path", str(plugin), "--target", target,
                        *krakend_side, "--json"], tmp_path)
            assert (seen.returncode == 0) is loadable, seen.stdout + seen.stderr
            [report] = json.loads(seen.stdout)["plugins"]
            assert report["registerers"] == ["HandlerRegisterer"]
            messages = [f["message"] for f in report["findings"] if f["severity"] == "error"]
            assert bool(messages) is not loadable, messages
            assert loadable or any("different version of package github.com/google/uuid" in m for m in messages)


def test_a_stripped_krakend_has_the_fingerprints_of_the_unstripped(krakend_bins, tmp_path):
    for target in ("amd64-generic", "arm64-alpine"):
        binary = tmp_path / f"krakend-{target}"
        subprocess.run([STRIP[target.split("-")[0]], "--strip-all", "-o", str(binary), str(krakend_bins[target])],
                       check=True)
        bare, whole = fingerprints.read_fingerprints(binary), fingerprints.read_fingerprints(krakend_bins[target])
        assert bare.read_from == "dynamic symbols" and len(bare.packages) > 1300
        assert {p: x.fingerprint for p, x in bare.packages.items()} == \
            {p: x.fingerprint for p, x in whole.packages.items()}
        assert bare.modules == whole.modules and bare.go == whole.go


def test_a_stripped_go_program_without_plugin_support_says_what_it_is(tmp_path, cross):
    (tmp_path / "go.mod").write_text("module plain\n\ngo 1.22\n")
    (tmp_path / "main.go").write_text('package main\n\nfunc main() {}\n')
    program = tmp_path / "plain"
    subprocess.run(["go", "build", "-ldflags=-s -w", "-o", str(program), "."], cwd=tmp_path, check=True,
                   env={**os.environ, "GOTOOLCHAIN": "go1.25.12"})
    with pytest.raises(NoFingerprints, match=r"stripped Go file .* no package fingerprints.*Go 1\.25\.12"):
        fingerprints.read_fingerprints(program)
    out = run([PYTHON, "-m", "krakend_tasks", "inspect", "--path", str(program), "--version", VERSION], tmp_path)
    assert out.returncode != 0 and "Traceback" not in out.stderr and str(program) in out.stdout + out.stderr


def test_a_plugin_without_build_info_is_named_so(layouts, tmp_path):
    """Go 1.19 writes no build info into plugins: the error says it is such a plugin, not 'not Go'."""
    (tmp_path / "krakend-tasks.toml").write_text(f'version = "{VERSION}"\n')
    for command in ("inspect", "test-load"):
        out = run([PYTHON, "-m", "krakend_tasks", command, "--path", str(layouts[("1.19", "amd64")]),
                   "--target", "amd64-generic"], tmp_path)
        assert out.returncode == 8, out.stderr
        assert "is a Go plugin without Go build info" in out.stderr and "Traceback" not in out.stderr
