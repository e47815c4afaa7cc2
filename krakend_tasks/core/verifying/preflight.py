"""Predict, from the ELF alone, why a plugin would not load in a KrakenD release and target.

Each finding names the failure users otherwise meet at runtime, its cause and the fix.
"""

from __future__ import annotations

from pathlib import Path

from krakend_tasks.core.findings import Finding
from krakend_tasks.core.golang.elf import ElfFile
from krakend_tasks.core.golang.fingerprints import Comparison
from krakend_tasks.core.krakend.deps import Descriptor
from krakend_tasks.core.krakend.releases import Release
from krakend_tasks.core.plugin_types import ENTERPRISE_VERDICT, plugin_type
from krakend_tasks.core.targets import Libc, Recipe, Target
from krakend_tasks.core.verifying.check import compare


def preflight(elf: ElfFile, target: Target, release: Release, kinds: list[str] = (),  # type: ignore[assignment]
              krakend: Descriptor | None = None, packages: Comparison | None = None,
              packages_summary: str = "") -> list[Finding]:
    """Every reason found why KrakenD would not load the plugin; `packages` is the comparison of
    its package fingerprints with KrakenD's (None: not compared, `packages_summary` says why)."""
    findings: list[Finding] = []

    def error(subject: str, message: str, fix: str) -> None:
        findings.append(Finding("error", subject, message, fix))

    info = elf.build_info
    if info is None or info.settings.get("-buildmode") != "plugin":
        error("buildmode", "not a Go plugin (built without -buildmode=plugin): KrakenD cannot open it",
              "build it with krakend-tasks (go build -buildmode=plugin)")
    if elf.arch != target.arch.value:
        error("architecture", f"built for {elf.arch}, {target.name} needs {target.arch.value}: at load time "
              "`wrong ELF class` / `cannot open shared object file`", f"nox -s build_{target.ident}")
    if target.libc is Libc.ALPINE and elf.libc == "glibc":
        error("libc", "a glibc plugin for musl KrakenD (the Docker image): at load time `__fprintf_chk: symbol not "
              "found` or `unsupported relocation type`", f"build the {target.arch.value}-alpine target")
    elif target.libc is Libc.GENERIC and elf.libc == "musl":
        error("libc", "a musl plugin for glibc KrakenD (deb/rpm/tarball): at load time `.../libc.so: invalid ELF "
              "header`", f"build the {target.arch.value}-generic target")
    glibc = release.glibc()
    if target.libc is Libc.GENERIC and glibc and elf.glibc_max and _newer(elf.glibc_max, glibc):
        error("glibc", f"needs GLIBC_{elf.glibc_max}, KrakenD {release.version}'s builder has glibc {glibc}: at load "
              f"time ``version `GLIBC_{elf.glibc_max}' not found``", "build in the builder image (--engine docker)")
    want_go = krakend.go if krakend else release.go
    if info and info.go != want_go:
        error("go", f"built with Go {info.go}, KrakenD {release.version} with Go {want_go}: at load time `plugin was "
              "built with a different version of package internal/...` or `runtime: no plugin module data`",
              f"build with --version {release.version} (Go {want_go})")
    if info and krakend and packages is None:  # the fingerprints, where compared, are exact: they decide
        plugin = Descriptor(want_go, krakend.libc, info.compiled())
        for diff in compare(krakend, plugin):
            if diff.is_module:
                error(diff.name, f"linked at {diff.have}, KrakenD links {diff.want}: at load time `plugin was built "
                      f"with a different version of package {diff.name}/...`", f"go get {diff.name}@{diff.want}")
    if packages is not None:
        findings += packages.findings
    elif packages_summary:
        findings.append(Finding("warning", "packages", packages_summary, "pass --krakend-bin or --image"))
    if elf.enterprise_only and release.edition == "ce":
        error("plugin type", ENTERPRISE_VERDICT.format(symbols=", ".join(elf.enterprise_only)),
              "load it in KrakenD Enterprise, or export HandlerRegisterer, ClientRegisterer or ModifierRegisterer")
    for kind in kinds:
        symbol = plugin_type(kind).registerer
        if symbol not in elf.registerers:
            error(kind, f"declared a {kind} plugin but exports no {symbol}: test-plugin says `The plugin does not "
                  f"contain a {symbol}.`", f"export `var {symbol} = ...` from package main")
    return findings


def _newer(a: str, b: str) -> bool:
    return tuple(map(int, a.split("."))) > tuple(map(int, b.split(".")))


def same_names(paths: list[Path], recipe: Recipe, release: Release) -> dict[Path, list[Finding]]:
    """Plugins of one target that register a name another of them registers too, found by loading
    them (the names are runtime values): KrakenD would load one and drop the other."""
    from krakend_tasks.core.golang.elf import read_elf
    from krakend_tasks.core.verifying.testload import load_local

    owners: dict[tuple[str, str], list[Path]] = {}
    for path in paths:
        kinds = read_elf(path).plugin_types
        for check in load_local([path], kinds, recipe, release).checks if kinds else []:
            for name in check.names:
                owners.setdefault((check.kind.lower(), name), []).append(path)
    findings: dict[Path, list[Finding]] = {}
    for (kind, name), files in owners.items():
        for path in files if len(files) > 1 else []:
            others = ", ".join(p.name for p in files if p != path)
            findings.setdefault(path, []).append(Finding(
                "error", f"{kind} name {name!r}", f"{others} registers {name!r} too: KrakenD loads one of them "
                "and drops the other", "give each plugin a name of its own (its pluginName)"))
    return findings
