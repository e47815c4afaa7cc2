"""Nox adapter: `register()` adds krakend-tasks sessions to the calling noxfile.

    import krakend_tasks.nox
    krakend_tasks.nox.register(project="plugin/")

Nothing is registered at import. Registering twice is a no-op. Sessions take options after
`--`, e.g. `nox -s build_arm64 -- --version 2.13 --engine docker`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import nox

from krakend_tasks.core.targets import ALL_TARGETS, Arch, Libc
from krakend_tasks.errors import KrakendTasksError

MARK = "_krakend_tasks_session"
KINDS = ("server", "client", "modifier")
FAILURE = {  # what a status of 1 means, per command
    "check": "the plugin is not compatible with this KrakenD release",
    "inspect": "the preflight found a plugin that will not load",
    "test": "a plugin does not load",
    "configure": "the configuration uses a plugin nothing provides, or KrakenD rejects it",
}


@dataclass(frozen=True)
class Spec:
    """One session: the command it runs, its description, and the targets it is fixed to."""

    name: str
    command: str  # a function of krakend_tasks.commands
    doc: str
    targets: str | None = None  # None: chosen with --target


def specs() -> Iterator[Spec]:
    yield Spec("build", "build", "Build the KrakenD plugin for every target (options after --).")
    for arch in Arch:
        yield Spec(f"build_{arch.value}", "build", f"Build the plugin for {arch.value} (alpine and generic).",
                   arch.value)
    for t in ALL_TARGETS:
        libc = "musl" if t.libc is Libc.ALPINE else "glibc"
        yield Spec(f"build_{t.ident}", "build", f"Build the plugin for {t.name} ({libc}).", t.name)
    yield Spec("check", "check", "Check go.sum, Go and libc against the KrakenD release (as check-plugin, and more).")
    yield Spec("inspect", "inspect", "Describe built plugins (arch, libc, Go, modules, registerers) and preflight.")
    yield Spec("test_plugin", "test", "Load every built plugin for real (KrakenD, its image, or a Go loader).")
    for t in ALL_TARGETS:
        yield Spec(f"test_plugin_{t.ident}", "test", f"Load the {t.name} plugin for real.", t.name)
    yield Spec("new", "new", "Scaffold a plugin project: -- --type server|client|modifier --name NAME.")
    yield Spec("configure", "configure", "Add the plugin to krakend.json (plugin block and its namespace).")
    yield Spec("ship", "ship", "Write a Dockerfile of KrakenD's image with the plugin and config; build it.")
    yield Spec("matrix", "matrix", "Print the targets as a GitHub Actions matrix (-- --json for CI).")


def register(project: str = ".", *, prefix: str = "", default: bool = False, **settings: Any) -> list[str]:
    """Register the sessions for the plugin in `project`; return their names.

    `settings` are Settings fields (version, engine, builder...); the session's own options win.
    """
    names = []
    existing = nox.registry.get()
    for spec in specs():
        full = prefix + spec.name
        names.append(full)
        if full in existing and getattr(existing[full].func, MARK, False):
            continue
        nox.session(_session(full, spec, project, settings), name=full, python=False, default=default,
                    tags=["krakend"])
    return names


def _session(name: str, spec: Spec, project: str, settings: dict[str, Any]) -> Callable[[nox.Session], None]:
    def session(s: nox.Session) -> None:
        from krakend_tasks import commands

        given = {k: v for k, v in _parse(s, spec).items() if v is not None}
        options = {"version": settings.get("version"), **given} if spec.command == "new" else {**settings, **given}
        if spec.targets is not None:
            options["targets" if spec.command == "build" else "target"] = spec.targets
        try:
            if spec.command == "new":  # creates a project: no project settings apply
                status = commands.new(**options)
            else:
                status = getattr(commands, spec.command)(project, **options)
        except KrakendTasksError as exc:
            s.error(str(exc))
        if status:
            s.error(f"{spec.command}: {FAILURE.get(spec.command, 'failed')}")

    session.__name__ = name
    session.__doc__ = spec.doc
    setattr(session, MARK, True)
    return session


def _parse(s: nox.Session, spec: Spec) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog=f"nox -s {s.name} --", exit_on_error=False)
    command = spec.command
    parser.add_argument("--version", help="KrakenD version: 2.13.8, 2.13, 2 or latest")
    if command != "new":  # settings every other session shares, so one `--` line serves several sessions
        parser.add_argument("--builder", help="builder image repository")
        parser.add_argument("--dist", help="output folder")
        parser.add_argument("--engine", choices=("auto", "docker", "local"))
        parser.add_argument("--pull", choices=("missing", "always", "never"))
        parser.add_argument("--krakend-image", help="repository of KrakenD's images (ship, matrix)")
        parser.add_argument("--modcache", help="module cache KrakenD was compiled from (default /go/pkg/mod)")
    if spec.targets is None and command != "new":
        parser.add_argument("--target", dest="targets" if command in ("build", "matrix") else "target",
                            help="targets: all, arm64, alpine, amd64-generic...")
    if command in ("build", "inspect", "test", "matrix"):
        parser.add_argument("--json", action="store_true", help="machine-readable output")
    if command == "check":
        parser.add_argument("--format", dest="output", choices=("table", "json", "krakend"))
        parser.add_argument("--fix", action="store_true", help="print the fix commands (KrakenD's -f)")
        parser.add_argument("--apply", action="store_true", help="run the fix commands, then check again")
        parser.add_argument("--go", help="Go version the plugin is built with")
        parser.add_argument("--libc", help="libc string the plugin is built with")
    if command in ("check", "inspect", "test", "configure"):
        parser.add_argument("--image", help="a KrakenD image: its binary's dependencies and fingerprints (check, "
                                            "inspect), test-plugin (test), check -c (configure)")
    if command in ("check", "inspect", "test", "configure"):
        parser.add_argument("--krakend-bin", help="a KrakenD binary to compare with / load in / check the config")
    if command in ("inspect", "test"):
        parser.add_argument("paths", nargs="*", help=".so files (default: dist/manifest.json)")
        parser.add_argument("--type", dest="kinds", action="append", choices=KINDS)
    if command in ("new", "configure"):
        parser.add_argument("--type", dest="kind", choices=KINDS, required=command == "new")
        parser.add_argument("--name", help="the plugin's name")
    if command == "new":
        parser.add_argument("--dest", help="folder to create (default: ./NAME)")
        parser.add_argument("--module", help="Go module path (default: example.com/krakend-plugins/NAME)")
    if command in ("configure", "ship"):
        parser.add_argument("--config", help="the krakend.json (default: the project's)")
    if command == "configure":
        parser.add_argument("--endpoint", help="endpoint path for client and modifier plugins")
        parser.add_argument("--method", help="the endpoint's method, when several share the path")
        parser.add_argument("--backend", type=int, help="backend index (0-based)")
        parser.add_argument("--folder", help="plugin folder KrakenD reads (default /opt/krakend/plugins/)")
        parser.add_argument("--pattern", help="file-name pattern KrakenD loads (default .so)")
        parser.add_argument("--settings", dest="plugin_settings", help="the plugin's own configuration, JSON")
        parser.add_argument("--validate", action="store_true", help="check every plugin name the config uses")
        parser.add_argument("--plugins", help="folder of the plugins to validate against (default: dist)")
    if command == "ship":
        parser.add_argument("--force", action="store_true", help="replace a Dockerfile we did not write")
        parser.add_argument("--build", action=argparse.BooleanOptionalAction,
                            help="build the image (default: when a Docker daemon answers)")
        parser.add_argument("--tag", help="image tag (default: NAME-krakend:VERSION)")
        parser.add_argument("--arch", choices=("amd64", "arm64"), help="image architecture")
    try:
        return vars(parser.parse_args(s.posargs))
    except (argparse.ArgumentError, SystemExit) as exc:
        s.error(f"bad session arguments {s.posargs}: {exc}")
        raise  # unreachable: s.error raises
