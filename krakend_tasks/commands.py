"""What each session/task does, once for every adapter: compute with the core, render, exit status.

Adapters (nox, invoke, cli) only translate their arguments into these calls and the returned
status (or a raised KrakendTasksError) into their own way of failing.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

FORMATS = ("table", "json", "krakend")


def build(project: str | Path, *, json: bool = False, **settings: Any) -> int:
    """Build the selected targets; print the artifacts. Returns 0 (failures raise)."""
    from krakend_tasks.core.build import build as run_build
    from krakend_tasks.core.settings import load_settings
    from krakend_tasks.render import print_artifacts

    print_artifacts(run_build(load_settings(project, **settings)), as_machine=json)
    return 0


def check(project: str | Path, *, output: str = "table", fix: bool = False, apply: bool = False,
          go: str | None = None, libc: str | None = None, krakend_bin: str | None = None,
          image: str | None = None, **settings: Any) -> int:
    """Check go.sum against KrakenD for each selected target. 0: compatible, 1: not."""
    from krakend_tasks.core.check import apply_fixes, check_project
    from krakend_tasks.core.settings import load_settings
    from krakend_tasks.errors import ConfigError
    from krakend_tasks.render import check_json, krakend_text, print_check

    if output not in FORMATS:
        raise ConfigError(f"unknown format {output!r}", hint=f"use one of: {', '.join(FORMATS)}")
    loaded = load_settings(project, **settings)
    targets = loaded.selected_targets()
    if output == "krakend":
        targets = targets[:1]  # KrakenD's check knows no targets; its libc is compared as given
    options = dict(go=go, libc=libc, krakend_bin=krakend_bin, image=image, krakend_format=output == "krakend")
    reports = {t.name: check_project(loaded, t, **options) for t in targets}
    if apply:
        first = next(iter(reports.values()))
        for command in apply_fixes(first, loaded.project, loaded.release.go):
            print(f"ran: {command}", file=sys.stderr)
        reports = {t.name: check_project(loaded, t, **options) for t in targets}
    if output == "krakend":
        sys.stderr.write(krakend_text(next(iter(reports.values())), fix=fix))
    elif output == "json":
        print(check_json(reports))
    else:
        print_check(reports)
        if fix:
            commands = sorted({c for r in reports.values() for c in r.fix_commands()})
            print("\n".join(commands) if commands else "nothing to fix")
    return 0 if all(r.ok for r in reports.values()) else 1


def _plugins(project: str | Path, paths: list[str] | None, target: str | None, settings: dict[str, Any]):
    """(path, target) pairs: given paths (target from --target or read from the ELF), else dist's manifest."""
    from krakend_tasks.core.build import read_manifest
    from krakend_tasks.core.elf import read_elf
    from krakend_tasks.core.settings import load_settings
    from krakend_tasks.core.targets import Arch, Libc, Target, parse_target, select_targets
    from krakend_tasks.errors import ConfigError

    loaded = load_settings(project, **settings)
    if paths:
        chosen = parse_target(target) if target else None
        pairs = []
        for path in paths:
            elf = read_elf(path)
            guess = Target(Arch(elf.arch), Libc.ALPINE if elf.libc == "musl" else Libc.GENERIC) \
                if elf.arch in ("amd64", "arm64") else None
            pairs.append((Path(path), chosen or guess or parse_target("amd64-generic")))
        return loaded, pairs
    wanted = {t.name for t in (select_targets(target) if target else loaded.selected_targets())}
    pairs = [(loaded.dist_dir / a.path, parse_target(a.target)) for a in read_manifest(loaded.dist_dir)
             if a.target in wanted]
    if not pairs:
        raise ConfigError(f"no built plugin in {loaded.dist_dir} for {', '.join(sorted(wanted))}",
                          hint="build first (nox -s build), or pass .so paths")
    return loaded, pairs


def inspect(project: str | Path, *, paths: list[str] | None = None, target: str | None = None,
            kinds: list[str] | None = None, json: bool = False, krakend_bin: str | None = None,
            **settings: Any) -> int:
    """Describe plugins without loading them, with preflight findings. 0: none is an error, 1: some."""
    from krakend_tasks.core.elf import read_elf
    from krakend_tasks.core.krakend_deps import from_binary
    from krakend_tasks.core.preflight import preflight
    from krakend_tasks.render import print_inspection

    loaded, pairs = _plugins(project, paths, target, settings)
    krakend = from_binary(krakend_bin) if krakend_bin else None
    results = []
    for path, plugin_target in pairs:
        elf = read_elf(path)
        results.append((elf, plugin_target, preflight(elf, plugin_target, loaded.release, kinds or [], krakend)))
    print_inspection(results, as_machine=json)
    return 1 if any(f.severity == "error" for _, _, found in results for f in found) else 0


def test(project: str | Path, *, paths: list[str] | None = None, target: str | None = None,
         kinds: list[str] | None = None, json: bool = False, krakend_bin: str | None = None,
         image: str | None = None, **settings: Any) -> int:
    """Load plugins for real: a KrakenD binary, a KrakenD image, or the Go loader. 0: all load, 1: not."""
    from krakend_tasks.core.elf import read_elf
    from krakend_tasks.core.testload import load_in_image, load_local, load_with_krakend
    from krakend_tasks.render import print_loads

    loaded, pairs = _plugins(project, paths, target, settings)
    results = []
    for path, plugin_target in pairs:
        found = list(read_elf(path).registerers)
        plugin_kinds = kinds or [k for k, s in (("server", "HandlerRegisterer"), ("client", "ClientRegisterer"),
                                                ("modifier", "ModifierRegisterer")) if s in found] or ["server"]
        recipe = loaded.recipe(plugin_target)
        if krakend_bin:
            result = load_with_krakend([path], plugin_kinds, krakend_bin)
        elif image:
            result = load_in_image([path], plugin_kinds, image, recipe, loaded.pull)
        else:
            result = load_local([path], plugin_kinds, recipe, loaded.release)
        results.append((path, plugin_target, result))
    print_loads(results, as_machine=json)
    return 0 if all(r.ok for _, _, r in results) else 1
