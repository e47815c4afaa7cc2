"""What each session/task does, once for every adapter: compute with the core, render, exit status.

Adapters (nox, invoke, cli) only translate their arguments into these calls and the returned
status (or a raised KrakendTasksError) into their own way of failing.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from importlib import import_module
from pathlib import Path
from types import FrameType, ModuleType
from typing import TYPE_CHECKING, Any, BinaryIO

from krakend_tasks import logs
from krakend_tasks.core.project.settings import Settings, checked, load_settings
from krakend_tasks.errors import ConfigError, DockerUnavailable, GoModuleError, KrakendTasksError, from_os_error
from krakend_tasks.live import progress
from krakend_tasks.options import FORMATS, Command, session_names
from krakend_tasks.output import Output
from krakend_tasks.render import (
    check_json,
    go_duration,
    krakend_text,
    print_artifacts,
    print_check,
    print_inspection,
    print_lines,
    print_loads,
    print_matrix,
    print_smoke,
)

if TYPE_CHECKING:
    from krakend_tasks.annotations import Annotation
    from krakend_tasks.core.targets import Target
    from krakend_tasks.core.verifying.check import Report

# Each command imports the core modules it uses when it runs: `--help`, `nox -l` and a command
# that reads little (check against a binary) do not pay for the rest.


class Terminated(KeyboardInterrupt):
    """SIGTERM (what CI runners and `timeout` send) or SIGHUP (a closed terminal), raised where the
    work is, so that containers and temporaries are cleaned up as for Ctrl-C. The command line
    exits 128 + the signal's number."""
    exit_code = 128 + signal.SIGTERM


def _annotations() -> ModuleType:
    """CI annotations' builders, imported when a run asks for them (`--format github` and the like)."""
    return import_module("krakend_tasks.annotations")


def _junit() -> ModuleType:
    """JUnit reports' builders, imported when a run writes one (`--junit`)."""
    return import_module("krakend_tasks.junit")


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        interrupted = Terminated()
        interrupted.exit_code = 128 + signum  # 143 for SIGTERM, 129 for SIGHUP, 130 for SIGINT
        raise interrupted

    # SIGINT too: a run started in the background by a shell inherits SIGINT ignored, and would then
    # finish a build (or wait on a before_build command) that `kill -INT` asked it to stop
    signals = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
    previous = {sig: signal.signal(sig, stop) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run(command: Command, project: str | Path = ".", defaults: Mapping[str, Any] | None = None,
        given: Mapping[str, Any] | None = None, source: str = "settings") -> int:
    """Run a command of krakend_tasks.options (what every adapter calls): `defaults` are the
    adapter's settings (`source` names them in errors), `given` the options of this run.
    SIGTERM is handled as Ctrl-C."""
    defaults = {k: v for k, v in (defaults or {}).items() if v is not None}
    given = dict(given or {})
    quiet, verbose = given.pop("quiet", False), given.pop("verbose", False)
    if quiet and verbose:
        raise ConfigError("--quiet and --verbose: give one of them", hint="--quiet shows warnings and errors only, "
                          "--verbose adds the commands run")
    logs.configure(quiet, verbose)
    checked(defaults, source)
    for key in ("image", "tag"):  # image references, which reach Docker and Dockerfiles
        if isinstance(given.get(key), str):
            valid_image(given[key], f"--{key}")
    function = command.implementation()
    with terminate_as_interrupt():
        try:
            if not command.settings:  # new creates a project: of the settings, only the version applies
                return function(**{"version": defaults.get("version"), **given})
            return function(project, **{**defaults, **given})
        except OSError as exc:  # a full disk, a read-only folder...: in words, never a traceback
            raise from_os_error(exc) from exc


def valid_image(reference: str, what: str) -> None:
    """An image reference given on the command line, or one clear error."""
    import re

    from krakend_tasks.engines.registry import IMAGE
    if not re.fullmatch(IMAGE, reference):
        raise ConfigError(f"{what} {reference!r} is not an image reference",
                          hint='e.g. "krakend:2.13.8" or "registry.example.com/team/gateway:1.0"')


def build(project: str | Path, *, json: bool = False, output: str | None = None, keep_unloadable: bool = False,
          krakend_bin: str | None = None, image: str | None = None, **settings: Any) -> int:
    """Build the selected targets; print the artifacts. Returns 0 (failures raise, and a build whose
    packages KrakenD would refuse is one, unless `keep_unloadable`). With the github format a
    failure is also annotated: the compiler's errors on their lines, a refused build on go.mod."""
    from krakend_tasks.core.building.build import build as run_build
    from krakend_tasks.engines import engine_for
    from krakend_tasks.errors import BuildFailed, UnloadableBuild
    out = Output(output, json)
    loaded = load_settings(project, krakend_bin=krakend_bin, image=image, data_for="build", **settings)
    engine = engine_for(loaded)
    artifacts = []
    for plugin in loaded.per_plugin():  # several plugins: each, into one dist/
        for each in plugin.per_release():  # --version 2.12,2.13: each with its own Go and builder
            with progress([t.name for t in each.targets], "build") as mark:
                try:
                    artifacts += run_build(each, engine, progress=mark, keep_unloadable=keep_unloadable)
                except (BuildFailed, UnloadableBuild) as exc:
                    out.annotate(partial(_build_failure, exc, plugin.project,
                                         f"build {plugin.plugin_name()} (KrakenD {each.release.version})"))
                    raise
    out.emit(lambda machine: print_artifacts(artifacts, as_machine=machine))
    return 0


def _build_failure(exc: KrakendTasksError, project: Path, title: str) -> list[Annotation]:
    """A failed build on its lines: the compiler's errors where it names them, else on go.mod."""
    from krakend_tasks.annotations import Annotation, compiler_errors, shown

    return (compiler_errors(getattr(exc, "lines", ()), project.resolve(), title)
            or [Annotation("error", exc.message, shown(project / "go.mod"), 1, title=title)])


def check(project: str | Path, *, output: str | None = None, fix: bool = False, apply: bool = False,
          go: str | None = None, libc: str | None = None, krakend_bin: str | None = None,
          image: str | None = None, junit: str | None = None, **settings: Any) -> int:
    """Check go.sum against KrakenD for each selected target. 0: compatible, 1: not."""
    from krakend_tasks.core.verifying.check import apply_fixes, check_project
    out = Output(output, junit=junit, formats=FORMATS)
    output = out.format
    loaded = load_settings(project, krakend_bin=krakend_bin, image=image, data_for="check", **settings)
    if output == "krakend" or apply:  # one go.sum against one KrakenD
        single = "check --format krakend" if output == "krakend" else "check --apply"
        loaded = loaded.one_release(single).one_plugin(single)
    options: dict[str, Any] = dict(go=go, libc=libc, krakend_bin=krakend_bin, image=image,
                                   krakend_format=output == "krakend")
    plugins = loaded.per_plugin()
    places: dict[str, Path] = {}  # report -> the project whose go.mod it is about

    def run_checks() -> dict[str, Report]:
        reports = {}
        for plugin in plugins:
            for each in plugin.per_release():
                # KrakenD's check knows no targets; its libc is compared as given
                for t in each.targets[:1] if output == "krakend" else each.targets:
                    key = " ".join([*([plugin.plugin_name()] if len(plugins) > 1 else []),
                                    *([each.release.version] if len(loaded.releases) > 1 else []), t.name])
                    reports[key] = check_project(each, t, **options)
                    places[key] = plugin.project
        return reports

    if apply:
        ran, reports, refused = apply_fixes(run_checks, plugins[0].project, loaded.release.go,
                                            log=lambda line: logs.to_stderr(logs.warning(line)))
        for command in ran:
            logs.to_stderr(f"ran: {command}")
        for unapplied in refused:
            logs.to_stderr(logs.warning(f"not applied: {unapplied.module}: {unapplied.said}\n"
                                        f"  by hand: {unapplied.command}"))
    else:
        reports = run_checks()
    if output == "krakend":  # KrakenD's text, and its exit status: its own comparison decides both
        report = next(iter(reports.values()))
        sys.stderr.write(krakend_text(report, fix=fix))
        return 1 if report.diffs else 0

    def show(machine: bool) -> None:
        if machine:
            print(check_json(reports))
            return
        print_check(reports)
        if fix:
            commands = sorted({c for r in reports.values() for c in r.fix_commands()})
            print("\n".join(commands) if commands else "nothing to fix")

    out.emit(show, lambda: _annotations().check_annotations(reports, places), lambda: _junit().check_suites(reports))
    return 0 if all(r.ok for r in reports.values()) else 1


def _plugins(project: str | Path, paths: list[str] | None, settings: dict[str, Any], command: str,
             krakend_bin: str | None, image: str | None) -> list[tuple[Path, Target, Settings]]:
    """(path, target, the settings of its KrakenD version): given paths (their target: --target when
    it names one, else read from the ELF), else the artifacts of dist's manifest for the selected
    targets and versions."""
    from krakend_tasks.core.golang.elf import read_elf
    from krakend_tasks.core.project.manifest import read_manifest
    from krakend_tasks.core.targets import parse_target
    loaded = load_settings(project, krakend_bin=krakend_bin, image=image, data_for=command, **settings)
    if paths:
        loaded = loaded.one_release("a plugin file")
        named = list(loaded.targets) if settings.get("targets") else []
        chosen = named[0] if len(named) == 1 else None
        return [(Path(path), chosen or read_elf(path).target() or parse_target("amd64-generic"), loaded)
                for path in paths]
    wanted = {t.name for t in loaded.targets}
    versions = {each.release.version: each for each in loaded.per_release()}
    names = {plugin.plugin_name() for plugin in loaded.per_plugin()}
    found = [(loaded.dist_dir / a.path, parse_target(a.target), versions[a.krakend])
             for a in read_manifest(loaded.dist_dir) if a.target in wanted and a.krakend in versions
             and a.path.removesuffix(f"-{a.krakend}-{a.target}.so") in names]
    if not found:
        raise ConfigError(f"no built plugin in {loaded.dist_dir} for KrakenD {', '.join(versions)} and "
                          f"{', '.join(sorted(wanted))}", hint="build first (nox -s build), or pass .so paths")
    return found


def inspect(project: str | Path, *, paths: list[str] | None = None, kinds: list[str] | None = None,
            json: bool = False, output: str | None = None, krakend_bin: str | None = None, image: str | None = None,
            **settings: Any) -> int:
    """Describe plugins without loading them, with preflight findings. 0: none is an error, 1: some."""
    from krakend_tasks.annotations import Annotation, module_place, shown
    from krakend_tasks.core.findings import Finding
    from krakend_tasks.core.golang.elf import read_elf
    from krakend_tasks.core.krakend.deps import from_binary
    from krakend_tasks.core.krakend.fingerprints import findings_for
    from krakend_tasks.core.verifying.preflight import preflight, same_names
    out = Output(output, json)
    krakend = from_binary(krakend_bin) if krakend_bin else None
    results = []
    plugins = _plugins(project, paths, settings, "inspect", krakend_bin, image)
    together: dict[tuple[str, Target], list[Path]] = {}  # plugins KrakenD would load side by side
    for path, plugin_target, loaded in plugins:
        together.setdefault((loaded.release.version, plugin_target), []).append(path)
    clashes: dict[Path, list[Finding]] = {}
    for (_, plugin_target), files in together.items():
        if len(files) > 1:
            loaded = next(s for p, _, s in plugins if p == files[0])
            clashes |= same_names(files, loaded.recipe(plugin_target), loaded.release)
    for path, plugin_target, loaded in plugins:
        elf = read_elf(path)
        packages, summary = findings_for(path, plugin_target.arch.value, loaded.release.version,
                                         krakend_bin=krakend_bin, image=image, pull=loaded.pull,
                                         official=loaded.official_image, modcache=loaded.modcache)
        found = preflight(elf, plugin_target, loaded.release, kinds or [], krakend, packages, summary)
        results.append((elf, plugin_target, found + clashes.get(path, [])))

    def annotations() -> list[Annotation]:  # a module's finding on its line of go.mod, any other on the file
        projects = {path: loaded.project for path, _, loaded in plugins}
        notes = []
        for elf, _, found in results:
            for f in found:
                file, line = module_place(projects[elf.path], f.subject) if "/" in f.subject else (shown(elf.path), 1)
                notes.append(Annotation("error" if f.severity == "error" else "warning", f.with_fix, file, line,
                                        title=f"inspect {elf.path.name}"))
        return notes

    out.emit(lambda machine: print_inspection(results, as_machine=machine), annotations)
    return 1 if any(f.severity == "error" for _, _, found in results for f in found) else 0


def test_load(project: str | Path, *, paths: list[str] | None = None, kinds: list[str] | None = None,
              json: bool = False, output: str | None = None, junit: str | None = None, krakend_bin: str | None = None,
              image: str | None = None, load_timeout: float | None = None, **settings: Any) -> int:
    """Load plugins for real: a KrakenD binary, a KrakenD image, or the Go loader. 0: all load, 1: not."""
    from krakend_tasks.core.golang.elf import read_build_info, read_elf
    out = Output(output, json, junit)
    from krakend_tasks.core.plugin_types import ENTERPRISE_VERDICT
    from krakend_tasks.core.verifying.testload import LOAD_TIMEOUT, LoadResult, load
    limit = seconds("--load-timeout", load_timeout, LOAD_TIMEOUT)
    plugins = _plugins(project, paths, settings, "test-load", krakend_bin, image)
    results = []
    with progress([str(path) for path, _, _ in plugins], "load") as mark:
        for path, plugin_target, loaded in plugins:
            mark(str(path), "running")
            read_build_info(path)  # not a Go file: NotAPlugin, before loading anything
            elf = read_elf(path)
            if not kinds and elf.enterprise_only and loaded.release.edition == "ce":  # nothing CE looks up
                verdict = ENTERPRISE_VERDICT.format(symbols=", ".join(elf.enterprise_only))
                results.append((path, plugin_target, LoadResult(ok=False, fatal=verdict, loader="symbols")))
                mark(str(path), "failed")
                continue
            plugin_kinds = kinds or elf.plugin_types or ["server"]
            result = load([path], plugin_kinds, loaded.recipe(plugin_target), loaded.release, krakend_bin=krakend_bin,
                          image=image, pull=loaded.pull, timeout=limit)
            result = result.compare_packages(path, plugin_target.arch.value, loaded.release.version,
                                             krakend_bin=krakend_bin, image=image, pull=loaded.pull,
                                             modcache=loaded.modcache, official=loaded.official_image)
            mark(str(path), "done" if result.ok else "failed")
            results.append((path, plugin_target, result))
    out.emit(lambda machine: print_loads(results, as_machine=machine),
             lambda: _annotations().load_annotations(results, {path: loaded.project for path, _, loaded in plugins}),
             lambda: _junit().load_suites(results))
    return 0 if all(r.ok for _, _, r in results) else 1


def check_plugin(project: str | Path, *, sum: str | None = None, go: str | None = None, libc: str | None = None,
                 fix: bool = False, krakend_bin: str | None = None, **settings: Any) -> int:
    """KrakenD's `check-plugin`: its flags, its text on stderr, its exit status, against a release."""
    from krakend_tasks.core.golang.gomod import read_go_mod
    from krakend_tasks.core.krakend.deps import for_release, from_binary
    from krakend_tasks.core.verifying.check import check as check_go_sum
    loaded = load_settings(project, krakend_bin=krakend_bin, data_for="check-plugin", **settings).one_release(
        "check-plugin")
    target = loaded.targets[0]  # KrakenD's own libc is its flavour's: the first selected target
    go_sum = sum or "./go.sum"
    if not (loaded.project / go_sum).is_file():  # KrakenD's words and status for a go.sum it cannot open
        print(f"open {go_sum}: no such file or directory", file=sys.stderr)
        return 1
    krakend = from_binary(krakend_bin) if krakend_bin else for_release(loaded.release, loaded.release.libc(target))
    try:
        report = check_go_sum(loaded.project / go_sum, krakend, go=go, libc=libc or "", exact=True)
    except GoModuleError as exc:  # what KrakenD's reader stops at: its own words, its status
        print(exc.message, file=sys.stderr)
        return 1
    go_mod = (loaded.project / go_sum).with_name("go.mod")
    if fix and report.diffs and not go_mod.is_file():
        print(f"reading go.mod: open {Path(go_sum).with_name('go.mod')}: no such file or directory", file=sys.stderr)
        return 1
    if fix and report.diffs:
        report = report._replace(indirect=frozenset(read_go_mod(go_mod).indirect()))
    sys.stderr.write(krakend_text(report, fix=fix))
    return 0 if not report.diffs else 1


def test_plugin(project: str | Path, *, paths: list[str] | None = None, server: bool = False, client: bool = False,
                modifier: bool = False, krakend_bin: str | None = None, **settings: Any) -> int:
    """KrakenD's `test-plugin` lines, summary and exit status, from our loader and the fingerprints."""
    from krakend_tasks.core.verifying.testload import krakend_lines

    if not paths:
        print("At least one plugin is required.", file=sys.stderr)
        return 1
    kinds = [k for k, wanted in (("server", server), ("modifier", modifier), ("client", client)) if wanted]
    if not kinds:
        print("You must declare the expected type of the plugin.", file=sys.stderr)
        return 1
    loaded = load_settings(project, krakend_bin=krakend_bin, data_for="test-plugin", **settings).one_release(
        "test-plugin")
    started = time.monotonic()
    failed = 0
    for path in paths:
        lines, ok = krakend_lines(Path(path), kinds, loaded, krakend_bin)
        sys.stderr.write("".join(line + "\n" for line in lines))
        failed += not ok
    took = go_duration(time.monotonic() - started)
    if failed:
        sys.stderr.write(f"[KO] {len(paths)} tested plugin(s) in {took}.\n{failed} plugin(s) failed.\n")
        return 1
    sys.stderr.write(f"[OK] {len(paths)} tested plugin(s) in {took}\n")
    return 0


def new(kind: str | None = None, name: str | None = None, dest: str | None = None, module: str | None = None,
        version: str | None = None, versions: str | None = None, krakend_bin: str | None = None,
        image: str | None = None) -> int:
    """Scaffold a plugin project in `dest` (default ./NAME); its krakend.json linted by the KrakenD at hand."""
    from krakend_tasks.core.krakend.releases import resolve
    from krakend_tasks.core.plugin_types import NAMES, plugin_type
    from krakend_tasks.core.workflows.scaffold import new as scaffold
    if not kind or (name is None and not dest):
        raise ConfigError("new needs a plugin type and a name",
                          hint=f"e.g. new --type {'|'.join(NAMES)} --name my-plugin")
    from krakend_tasks.core.krakend.releases import select
    release = select(versions)[-1] if versions and not version else resolve(version or "latest")
    folder = Path(dest or name)  # type: ignore[arg-type]
    from krakend_tasks.core.krakend.lint import NOT_LINTED, at_hand
    written, verdict = scaffold(folder, kind, folder.name if name is None else name, module, release, versions,
                                at_hand(krakend_bin, image))
    if plugin_type(kind).enterprise:
        print_lines(f"new {kind} plugin in {folder} for KrakenD Enterprise (edition = \"ee\"; its Go and modules "
                    "come from your EE image or binary):", [str(p.relative_to(folder)) for p in written])
    else:
        print_lines(f"new {kind} plugin in {folder} for KrakenD {release.version} (Go {release.go}):",
                    [str(p.relative_to(folder)) for p in written])
    print(f"krakend.json: krakend check -n -c: OK ({verdict.by})" if verdict else f"krakend.json: {NOT_LINTED}")
    minor = release.version.rsplit(".", 1)[0]
    given = f" -- --image krakend/krakend-ee:{minor}" if plugin_type(kind).enterprise else ""
    logs.to_stderr(f"next: cd {folder} && nox -s unit && nox -s build check test_load{given}")
    return 0


def configure(project: str | Path, *, config: str | None = None, kind: str | None = None, name: str | None = None,
              endpoint: str | None = None, method: str | None = None, backend: int | None = None,
              folder: str | None = None, pattern: str | None = None, plugin_settings: str | None = None,
              validate: bool = False, plugins_dir: str | None = None, krakend_bin: str | None = None,
              image: str | None = None, **settings: Any) -> int:
    """Add the plugin to krakend.json; optionally check every plugin name it uses, and KrakenD's own check."""
    from krakend_tasks.core.krakend.lint import NOT_LINTED, at_hand, lint
    from krakend_tasks.core.workflows import configure as cfg
    root = load_settings(project, krakend_bin=krakend_bin, image=image, **settings).one_release("configure")
    path = Path(config) if config else root.project / "krakend.json"
    loaded = root.one_plugin("configure") if name is None or kind is None else root
    krakend = at_hand(krakend_bin, image, loaded.pull)
    outcome = cfg.configure_project(loaded, path, kind=kind, name=name, endpoint=endpoint, method=method,
                                    backend=backend, folder=folder, pattern=pattern, plugin_settings=plugin_settings,
                                    krakend=krakend)
    if outcome.changed:
        print_lines(f"{path}: updated (previous version in {outcome.backup})", outcome.changes)
        print(f"krakend check -n -c: OK ({outcome.linted.by})" if outcome.linted else NOT_LINTED)
    status = 0
    if not outcome.changed:
        print_lines(f"{path}: already configured, unchanged", [])
        if krakend:  # what is there, as KrakenD judges it
            verdict = lint(path, krakend)
            print_lines(f"krakend check -n -c {path}: {'OK' if verdict.ok else 'REFUSED'} ({verdict.by})",
                        list(verdict.said))
            status = 0 if verdict.ok else 1
    if validate:
        where = Path(plugins_dir) if plugins_dir else loaded.dist_dir
        problems = cfg.validate_names(loaded, path, where, pattern or cfg.DEFAULT_PATTERN)
        print_lines(f"plugin names used by {path} vs plugins in {where}:", problems or ["every name is provided"])
        status = 1 if problems else status
    return status


def ship(project: str | Path, *, config: str | None = None, force: bool = False, build: bool | None = None,
         tag: str | None = None, arch: str | None = None, push: bool = False, **settings: Any) -> int:
    """Write the Dockerfile, then build the image of each architecture through the Docker SDK; with
    `push`, push them and one manifest list over them.

    build: True builds (no daemon is an error), False does not, None builds when a daemon answers.
    """
    from krakend_tasks.core.krakend.lint import NOT_LINTED, at_hand, lint, refuse
    from krakend_tasks.core.workflows.ship import build_images, chosen_arches, parse_arches, write_dockerfile
    from krakend_tasks.engines.registry import parse_reference
    if push and build is False:
        raise ConfigError("--push with --no-build: there would be no image to push", hint="drop one of them")
    loaded = load_settings(project, **settings).one_release("ship")
    reference = str(parse_reference(tag or f"{_shipped_name(loaded)}-krakend:{loaded.release.version}"))
    parse_arches(arch)  # refused before the Dockerfile is written
    # the config judged by the KrakenD it ships in (the image built FROM), before anything is written
    krakend = at_hand(None, f"{loaded.krakend_image}:{loaded.release.version}" if build is not False else None,
                      loaded.pull)
    linted: list[str] = []

    def judge(config_path: Path) -> None:
        if krakend is None:
            return
        try:
            verdict = lint(config_path, krakend)
        except DockerUnavailable:
            if build:
                raise
            return
        refuse(verdict, str(config_path))
        linted.append(verdict.by)

    shipment = write_dockerfile(loaded, config or "krakend.json", force, judge)
    if shipment.backup:
        logs.to_stderr(f"the Dockerfile it replaced is kept as {shipment.backup}")
    print(f"wrote {shipment.dockerfile} (FROM {shipment.base}; plugin builds: {', '.join(shipment.arches)})")
    print(f"{config or 'krakend.json'}: krakend check -n -c: OK ({linted[0]})" if linted
          else f"{config or 'krakend.json'}: {NOT_LINTED}")
    arches = chosen_arches(arch, shipment)
    if build is False:
        return 0
    try:
        shipped = build_images(loaded, shipment, reference, arches, push or False, logs.to_stderr)
    except DockerUnavailable as exc:
        if build or push:
            raise
        logs.to_stderr(logs.warning(f"image not built: {exc.message}"))
        return 0
    for each, image in shipped.images.items():
        pushed = shipped.pushed.get(each)
        print(f"{'pushed' if pushed else 'built'} {image} (linux/{each}{f', {pushed}' if pushed else ''})")
    if len(arches) > 1 and shipped.digest:
        print(f"pushed {reference}@{shipped.digest}: a manifest list of linux/{', linux/'.join(arches)}")
    elif len(arches) > 1:
        logs.to_stderr(f"no single local image {reference}: this Docker engine keeps one architecture per tag; "
                       f"--push puts one manifest list of both under {reference} in its registry")
    elif push:
        logs.to_stderr(f"one architecture: no manifest list needed; {reference}@{shipped.digest}")
    return 0


def smoke(project: str | Path, *, config: str | None = None, krakend_bin: str | None = None,
          image: str | None = None, shipped: bool = False, tag: str | None = None, keep_backends: bool = False,
          request_timeout: float | None = None, load_timeout: float | None = None, no_follow_redirects: bool = False,
          output: str | None = None, junit: str | None = None, json: bool = False, **settings: Any) -> int:
    """Start the real KrakenD with the built plugins and the config; 0: every spec passed, 1: not."""
    from krakend_tasks.core.serving.gateway import READY_TIMEOUT
    from krakend_tasks.core.serving.smoke import smoke as run_smoke
    from krakend_tasks.core.serving.specs import REQUEST_TIMEOUT
    out = Output(output, json, junit)
    answer_limit = seconds("--request-timeout", request_timeout, REQUEST_TIMEOUT)
    ready_limit = seconds("--load-timeout", load_timeout, READY_TIMEOUT)
    loaded = load_settings(project, krakend_bin=krakend_bin, image=image, **settings).one_release("smoke")
    if shipped:
        image = tag or f"{_shipped_name(loaded)}-krakend:{loaded.release.version}"
    elif not krakend_bin and not image:
        image = f"{loaded.krakend_image}:{loaded.release.version}"
    path = Path(config) if config else loaded.project / "krakend.json"
    report = run_smoke(loaded, path, krakend_bin=krakend_bin, image=image, shipped=shipped,
                       keep_backends=keep_backends, request_timeout=answer_limit, ready_timeout=ready_limit,
                       follow_redirects=not no_follow_redirects, log=logs.to_stderr)
    out.emit(lambda machine: print_smoke(report, as_machine=machine), lambda: _annotations().smoke_annotations(
        report, loaded), lambda: [_junit().smoke_suite(report)])
    return 0 if report.ok else 1


def dev(project: str | Path, *, config: str | None = None, krakend_bin: str | None = None, image: str | None = None,
        port: int | None = None, debounce: int | None = None, keep_backends: bool = False,
        request_timeout: float | None = None, load_timeout: float | None = None, plain: bool = False,
        json: bool = False, **settings: Any) -> int:
    """The development loop until Ctrl-C, SIGTERM or SIGHUP: 0."""
    import gc

    from krakend_tasks.core.serving.dev import DEBOUNCE_MS

    gc.enable()  # the console script turns the collector off for short runs; a loop lives for hours
    from krakend_tasks.core.serving.dev import dev as run_dev
    from krakend_tasks.core.serving.gateway import READY_TIMEOUT
    from krakend_tasks.core.serving.specs import REQUEST_TIMEOUT
    from krakend_tasks.live import dev_screen

    if port is not None and not 0 < port < 65536:
        raise ConfigError(f"--port {port}: not a port number", hint="e.g. --port 8080")
    if debounce is not None and not 0 <= debounce <= 60_000:
        raise ConfigError(f"--debounce {debounce}: not a number of milliseconds in [0, 60000]",
                          hint="e.g. --debounce 100")
    loaded = load_settings(project, krakend_bin=krakend_bin, image=image, **settings)
    if not krakend_bin and not image:
        image = f"{loaded.krakend_image}:{loaded.release.version}"
    path = Path(config) if config else Path(project) / "krakend.json"
    with dev_screen("json" if json else "plain" if plain else "live") as emit:
        return run_dev(Path(project), path, emit, settings=settings, krakend_bin=krakend_bin, image=image, port=port,
                       debounce=DEBOUNCE_MS if debounce is None else debounce, keep_backends=keep_backends,
                       request_timeout=seconds("--request-timeout", request_timeout, REQUEST_TIMEOUT),
                       load_timeout=seconds("--load-timeout", load_timeout, READY_TIMEOUT))


def seconds(option: str, value: float | None, default: float) -> float:
    """A time limit given as an option: `default` when not given; a ConfigError outside (0, 3600]."""
    if value is None:
        return default
    if not 0 < value <= 3600:
        raise ConfigError(f"{option} {value:g}: not a number of seconds in (0, 3600]",
                          hint=f"e.g. {option} {default:g}")
    return value


def _shipped_name(settings: Settings) -> str:
    """The name in ship's default tag: the repository's folder for several plugins, else the plugin's."""
    return settings.project.resolve().name if settings.plugins else settings.plugin_name()


def matrix(project: str | Path, *, json: bool = False, session_prefix: str = "", **settings: Any) -> int:
    """Print the selected versions x targets as a GitHub Actions matrix (include form); its rows
    name the nox sessions of each target (`session_prefix`: register()'s prefix)."""
    from krakend_tasks.core.workflows.matrix import matrix as ci_matrix
    loaded = load_settings(project, **settings)
    loaded.per_plugin()  # --only (the `plugin` setting) naming no plugin here: refused, as by every command
    rows = [row for each in loaded.per_release()
            for row in ci_matrix(each, lambda target: session_names(target, session_prefix))["include"]]
    print_matrix({"include": rows}, as_machine=json)
    return 0


def bench(project: str | Path, *, config: str | None = None, krakend_bin: str | None = None,
          image: str | None = None, baseline: str | None = None, paths: list[str] | None = None,
          rate: int | None = None, rounds: int | None = None, duration: float | None = None,
          max_overhead: str | None = None, plot: str | None = None, request_timeout: float | None = None,
          load_timeout: float | None = None, output: str | None = None, junit: str | None = None,
          json: bool = False, **settings: Any) -> int:
    """The same KrakenD with and without the plugins, side by side. 0: within budget (or no budget),
    1: over it, or the arms' error rates differ; inconclusive is 0 with a warning."""
    from krakend_tasks.annotations import bench_annotations
    from krakend_tasks.core.serving.bench import DURATION, ROUNDS, parse_budget
    from krakend_tasks.core.serving.bench import bench as run_bench
    from krakend_tasks.core.serving.gateway import READY_TIMEOUT
    from krakend_tasks.core.serving.specs import REQUEST_TIMEOUT
    from krakend_tasks.junit import bench_suite, writable
    from krakend_tasks.render import print_bench

    out = Output(output, json, junit)
    plot_to = writable(Path(plot), "--plot") if plot else None
    budget = parse_budget(max_overhead) if max_overhead is not None else None
    if rounds is not None and not 1 <= rounds <= 1000:
        raise ConfigError(f"--rounds {rounds}: not a number of rounds in [1, 1000]", hint=f"e.g. --rounds {ROUNDS}")
    loaded = load_settings(project, krakend_bin=krakend_bin, image=image, **settings).one_release("bench")
    if not krakend_bin and not image:
        image = f"{loaded.krakend_image}:{loaded.release.version}"
    path = Path(config) if config else loaded.project / "krakend.json"
    report = run_bench(loaded, path, krakend_bin=krakend_bin, image=image,
                       baseline=Path(baseline) if baseline else None, paths=paths or (), rate=rate,
                       rounds=ROUNDS if rounds is None else rounds,
                       duration=seconds("--duration", duration, DURATION), budget=budget,
                       request_timeout=seconds("--request-timeout", request_timeout, REQUEST_TIMEOUT),
                       ready_timeout=seconds("--load-timeout", load_timeout, READY_TIMEOUT), log=logs.to_stderr)
    out.emit(lambda machine: print_bench(report, as_machine=machine), lambda: bench_annotations(report, path),
             lambda: [bench_suite(report)])
    if plot_to:
        from krakend_tasks.core.files import write_atomic
        from krakend_tasks.plots import page, svg

        title = f"{', '.join(report.plugins)}: latency with and without the plugin ({report.rate} requests/s)"
        picture = svg({"baseline": report.samples("baseline"), "plugin": report.samples("plugin")}, title)
        write_atomic(plot_to, page(picture, title) if plot_to.suffix.lower() in (".html", ".htm") else picture)
        logs.to_stderr(f"wrote {plot_to}")
    if report.verdict == "inconclusive":
        logs.to_stderr(logs.warning("inconclusive: the interval straddles the budget; more rounds narrow it "
                                    "(--rounds)"))
    return 1 if report.verdict == "fail" else 0


def explain(project: str | Path, *, lines: list[str] | None = None, log: str | None = None,
            path: str | None = None, krakend_bin: str | None = None, image: str | None = None,
            output: str | None = None, json: bool = False, **settings: Any) -> int:
    """What KrakenD's log lines about plugins mean. 0: none says a plugin failed, 1: some do."""
    import io

    from krakend_tasks.annotations import explain_annotations
    from krakend_tasks.core.krakend.fingerprints import bundled_modules
    from krakend_tasks.core.verifying.explain import Context, read_log
    from krakend_tasks.render import print_explained

    out = Output(output, json)
    if lines and log:
        raise ConfigError("explain reads log lines given as arguments or a log (--log), not both",
                          hint="give one of them")
    loaded = load_settings(project, krakend_bin=krakend_bin, image=image, **settings).one_release("explain")
    version = loaded.release.version
    known = bundled_modules(version) if loaded.release.edition == "ce" else None
    context = Context(Path(path) if path else None, krakend_bin, image, version, known or {},
                      _comparison(Path(path), loaded, krakend_bin, image) if path else None)
    streams = [io.BytesIO("\n".join(lines).encode())] if lines else [_log_input(log)]
    try:
        reading = read_log(streams, context)
    finally:
        for stream in streams:
            stream.close()
    out.emit(lambda machine: print_explained(reading, as_machine=machine),
             lambda: explain_annotations(reading, log if log and log != "-" else None))
    return 1 if reading.failed else 0


def _log_input(log: str | None) -> BinaryIO:
    """The log to read: a file, a FIFO (its writer awaited 10 s at most), or standard input."""
    import os
    import stat
    import threading

    if log is None or log == "-":
        if log is None and sys.stdin.isatty():
            raise ConfigError("explain needs KrakenD's log: a line as an argument, --log FILE, or the log on "
                              "standard input", hint="e.g. docker logs gateway 2>&1 | krakend-tasks explain")
        return sys.stdin.buffer
    try:
        mode = os.stat(log).st_mode
    except OSError as exc:
        raise ConfigError(f"--log {log}: {exc.strerror}", hint="give the path of KrakenD's log, or - for stdin") \
            from exc
    if stat.S_ISDIR(mode):
        raise ConfigError(f"--log {log}: is a folder", hint="give the path of KrakenD's log file")
    if not stat.S_ISFIFO(mode):
        try:
            return open(log, "rb")
        except OSError as exc:
            raise ConfigError(f"--log {log}: {exc.strerror}", hint="give a log file you may read") from exc
    opened: list[BinaryIO] = []
    opener = threading.Thread(target=lambda: opened.append(open(log, "rb")), daemon=True)  # noqa: SIM115
    opener.start()
    opener.join(10)
    if not opened:
        raise ConfigError(f"--log {log} is a FIFO and nothing wrote to it within 10 s",
                          hint="start the writer first (e.g. docker logs -f gateway > FIFO), or pipe the log in")
    return opened[0]


def _comparison(path: Path, loaded: Settings, krakend_bin: str | None, image: str | None,
                ) -> Callable[[], list[str]]:
    """The fingerprint comparison of the plugin with KrakenD's, as sentences (run when a line asks)."""
    def sentences() -> list[str]:
        from krakend_tasks.core.golang.elf import read_elf
        from krakend_tasks.core.krakend.fingerprints import findings_for
        from krakend_tasks.errors import KrakendTasksError

        try:
            elf = read_elf(path)
            found, summary = findings_for(path, elf.arch, loaded.release.version, krakend_bin=krakend_bin,
                                          image=image, pull=loaded.pull, official=loaded.official_image,
                                          modcache=loaded.modcache)
        except KrakendTasksError as exc:
            return [f"{path}: {exc.message}"]
        said = [f"{path}: {summary}"]
        if found and found.ok:
            said.append("so KrakenD would load this file: the plugin it refused is another one (an older build, "
                        "another folder, another architecture's?)")
        if found:
            said += [f"{m.package}: module {m.module}, the plugin's {m.plugin_version or '(none)'}, KrakenD's "
                     f"{m.krakend_version or '(none)'}" for m in found.mismatches[:5]]
            said += [f"{f.message}{f'; fix: {f.fix}' if f.fix else ''}" for f in found.findings]
        return said
    return sentences
