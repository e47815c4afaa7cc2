"""Nox adapter: `register()` adds krakend-tasks sessions to the calling noxfile.

    import krakend_tasks.nox
    krakend_tasks.nox.register(project="plugin/")

Nothing is registered at import. Registering twice is a no-op. Sessions take options after
`--`, e.g. `nox -s build_arm64 -- --version 2.13 --engine docker`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import nox

from krakend_tasks.core.targets import ALL_TARGETS, Arch, Libc
from krakend_tasks.errors import KrakendTasksError, check_registration, described
from krakend_tasks.options import BY_NAME, COMMANDS, UsageError, parse

MARK = "_krakend_tasks_session"


class Spec(NamedTuple):
    """One session: the command it runs (krakend_tasks.options), its description, its fixed targets."""

    name: str
    command: str  # a name of options.COMMANDS
    doc: str
    targets: str | None = None  # None: chosen with --target
    renamed: str = ""  # an old name's session: the session's new name, which it says when it runs


def specs() -> Iterator[Spec]:
    """Every session, made from options.COMMANDS: one per command; per architecture and per target for
    the commands that say so; the old names, which say the new ones."""
    for command in COMMANDS:
        name = command.session_name
        yield Spec(name, command.name, command.help)
        what = command.help.rstrip(".")
        if command.per_target == "arch":
            for arch in Arch:
                yield Spec(f"{name}_{arch.value}", command.name, f"{what}: {arch.value} (alpine and generic).",
                           arch.value)
        if command.per_target:
            for t in ALL_TARGETS:
                libc = "musl" if t.libc is Libc.ALPINE else "glibc"
                yield Spec(f"{name}_{t.ident}", command.name, f"{what}: {t.name} ({libc}).", t.name)
        for old in command.old_sessions:
            yield Spec(old, command.name, f"Old name of {name} (still works).", renamed=name)
            if command.per_target:
                for t in ALL_TARGETS:
                    yield Spec(f"{old}_{t.ident}", command.name, f"Old name of {name}_{t.ident} (still works).",
                               t.name, f"{name}_{t.ident}")


def register(project: str = ".", *, prefix: str = "", default: bool = False, **settings: Any) -> list[str]:
    """Register the sessions for the plugin in `project`; return their names.

    `settings` are Settings fields (version, engine, builder...); the session's own options win.
    """
    check_registration("register()", project)
    names = []
    existing = nox.registry.get()
    for spec in specs():
        full = prefix + spec.name
        names.append(full)
        if full in existing and getattr(existing[full].func, MARK, False):
            continue
        nox.session(name=full, python=False, default=default, tags=["krakend"])(
            _session(full, spec, project, settings))
    return names


def _session(name: str, spec: Spec, project: str, settings: dict[str, Any]) -> Callable[[nox.Session], None]:
    def session(s: nox.Session) -> None:
        from krakend_tasks import commands

        command = BY_NAME[spec.command]
        try:
            given = parse(command, s.posargs, prog=f"nox -s {s.name} --")
        except UsageError as exc:
            s.error(str(exc))
        if given is None:  # --help was printed
            return
        if spec.renamed:
            from krakend_tasks import logs

            logs.renamed(f"nox -s {s.name}", f"nox -s {name.removesuffix(spec.name)}{spec.renamed}")
        if spec.targets is not None:
            given["targets"] = spec.targets
        if spec.command == "matrix":  # its rows name this noxfile's sessions, prefix included
            given["session_prefix"] = name.removesuffix(spec.name)
        status = _call(s, lambda: commands.run(command, project, settings, given, "register()"))
        if status:
            s.error(f"{spec.command}: {command.failure}")

    session.__name__ = name
    session.__doc__ = spec.doc
    setattr(session, MARK, True)
    return session


def _call(s: nox.Session, run: Callable[[], int]) -> int:
    try:
        return run()
    except KrakendTasksError as exc:
        s.error(described(exc))
        raise  # unreachable: s.error raises
