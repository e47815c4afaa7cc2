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

        options = {**settings, **{k: v for k, v in _parse(s, spec).items() if v is not None}}
        if spec.targets is not None:
            options["targets" if spec.command == "build" else "target"] = spec.targets
        try:
            status = getattr(commands, spec.command)(project, **options)
        except KrakendTasksError as exc:
            s.error(str(exc))
        if status:
            s.error(f"{spec.command}: the plugin is not compatible with, or does not load in, this KrakenD release")

    session.__name__ = name
    session.__doc__ = spec.doc
    setattr(session, MARK, True)
    return session


def _parse(s: nox.Session, spec: Spec) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog=f"nox -s {s.name} --", exit_on_error=False)
    parser.add_argument("--version", help="KrakenD version: 2.13.8, 2.13, 2 or latest")
    parser.add_argument("--builder", help="builder image repository")
    parser.add_argument("--dist", help="output folder")
    if spec.targets is None:
        parser.add_argument("--target", dest="targets" if spec.command == "build" else "target",
                            help="targets: all, arm64, alpine, amd64-generic...")
    if spec.command == "build":
        parser.add_argument("--engine", choices=("auto", "docker", "local"))
        parser.add_argument("--json", action="store_true", help="machine-readable output")
    if spec.command == "check":
        parser.add_argument("--format", dest="output", choices=("table", "json", "krakend"))
        parser.add_argument("--fix", action="store_true", help="print the fix commands (KrakenD's -f)")
        parser.add_argument("--apply", action="store_true", help="run the fix commands, then check again")
        parser.add_argument("--go", help="Go version the plugin is built with")
        parser.add_argument("--libc", help="libc string the plugin is built with")
        parser.add_argument("--image", help="read KrakenD's dependencies from this image's /usr/bin/krakend")
    if spec.command in ("check", "inspect", "test"):
        parser.add_argument("--krakend-bin", help="a KrakenD binary to compare with / load in")
    if spec.command in ("inspect", "test"):
        parser.add_argument("paths", nargs="*", help=".so files (default: dist/manifest.json)")
        parser.add_argument("--type", dest="kinds", action="append", choices=("server", "client", "modifier"))
        parser.add_argument("--json", action="store_true", help="machine-readable output")
    if spec.command == "test":
        parser.add_argument("--image", help="run test-plugin in this KrakenD image")
    try:
        return vars(parser.parse_args(s.posargs))
    except (argparse.ArgumentError, SystemExit) as exc:
        s.error(f"bad session arguments {s.posargs}: {exc}")
        raise  # unreachable: s.error raises
