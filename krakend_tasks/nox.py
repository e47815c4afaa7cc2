"""Nox adapter: `register()` adds krakend-tasks sessions to the calling noxfile.

    import krakend_tasks.nox
    krakend_tasks.nox.register(project="plugin/")

Nothing is registered at import. Registering twice is a no-op. Sessions take options after
`--`, e.g. `nox -s build_arm64 -- --version 2.13 --engine docker`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from typing import Any

import nox

from krakend_tasks.core.targets import ALL_TARGETS, Arch, Libc
from krakend_tasks.errors import KrakendTasksError

MARK = "_krakend_tasks_session"
SessionBody = Callable[[nox.Session, dict[str, Any]], None]


def register(project: str = ".", *, prefix: str = "", default: bool = False, **settings: Any) -> list[str]:
    """Register the sessions for the plugin in `project`; return their names.

    `settings` are Settings fields (version, engine, builder...), the session's own options win.
    """
    names = []
    existing = nox.registry.get()
    for name, doc, body, targets in _sessions():
        full = prefix + name
        names.append(full)
        if full in existing and getattr(existing[full].func, MARK, False):
            continue
        nox.session(_session(full, doc, body, project, settings, targets), name=full,
                    python=False, default=default, tags=["krakend"])
    return names


def _sessions() -> Iterator[tuple[str, str, SessionBody, str | None]]:
    yield "build", "Build the KrakenD plugin for every target (options after --).", _build, None
    yield "check", "Check go.sum, Go and libc against the KrakenD release (as check-plugin, and more).", _check, None
    for arch in Arch:
        yield f"build_{arch.value}", f"Build the plugin for {arch.value} (alpine and generic).", _build, arch.value
    for t in ALL_TARGETS:
        libc = "musl" if t.libc is Libc.ALPINE else "glibc"
        yield f"build_{t.ident}", f"Build the plugin for {t.name} ({libc}).", _build, t.name


def _session(name: str, doc: str, body: SessionBody, project: str, settings: dict[str, Any],
             targets: str | None) -> Callable[[nox.Session], None]:
    def session(s: nox.Session) -> None:
        options = _parse(s, targets is None)
        chosen = {**settings, **{k: v for k, v in options.items() if v is not None}}
        if targets is not None:
            chosen["targets"] = targets
        try:
            body(s, {"project": project, **chosen})
        except KrakendTasksError as exc:
            s.error(str(exc))

    session.__name__ = name
    session.__doc__ = doc
    setattr(session, MARK, True)
    return session


def _parse(s: nox.Session, with_target: bool) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog=f"nox -s {s.name} --", exit_on_error=False)
    parser.add_argument("--version", help="KrakenD version: 2.13.8, 2.13, 2 or latest")
    parser.add_argument("--engine", choices=("auto", "docker", "local"))
    parser.add_argument("--builder", help="builder image repository")
    parser.add_argument("--dist", help="output folder")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    if with_target:
        parser.add_argument("--target", dest="targets", help="targets: all, arm64, alpine, amd64-generic...")
    if s.name.endswith("check"):
        parser.add_argument("--format", dest="output", choices=("table", "json", "krakend"), default="table")
        parser.add_argument("--fix", action="store_true", help="print the fix commands (KrakenD's -f)")
        parser.add_argument("--apply", action="store_true", help="run the fix commands, then check again")
        parser.add_argument("--go", help="Go version the plugin is built with")
        parser.add_argument("--libc", help="libc string the plugin is built with")
        parser.add_argument("--krakend-bin", help="read KrakenD's dependencies from this binary")
        parser.add_argument("--image", help="read KrakenD's dependencies from this image's /usr/bin/krakend")
    try:
        return vars(parser.parse_args(s.posargs))
    except (argparse.ArgumentError, SystemExit) as exc:
        s.error(f"bad session arguments {s.posargs}: {exc}")
        raise  # unreachable: s.error raises


def _build(s: nox.Session, options: dict[str, Any]) -> None:
    from krakend_tasks import commands

    commands.build(**options)


def _check(s: nox.Session, options: dict[str, Any]) -> None:
    from krakend_tasks import commands

    if options.pop("json", False):
        options["output"] = "json"
    if commands.check(**options) != 0:
        s.error("the plugin is not compatible with this KrakenD release")
