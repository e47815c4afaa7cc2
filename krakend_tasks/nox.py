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
from krakend_tasks.options import BY_NAME, UsageError, parse, session_names

MARK = "_krakend_tasks_session"
FAILURE = {  # what a status of 1 means, per command
    "check": "the plugin is not compatible with this KrakenD release",
    "check-plugin": "KrakenD's check found incompatibilities",
    "inspect": "the preflight found a plugin that will not load",
    "test-load": "a plugin does not load",
    "test-plugin": "a plugin does not load",
    "configure": "the configuration uses a plugin nothing provides, or KrakenD rejects it",
    "smoke": "the smoke run failed",
}


class Spec(NamedTuple):
    """One session: the command it runs (krakend_tasks.options), its description, its fixed targets."""

    name: str
    command: str  # a name of options.COMMANDS
    doc: str
    targets: str | None = None  # None: chosen with --target
    renamed: str = ""  # an old name's session: the session's new name, which it says when it runs


def specs() -> Iterator[Spec]:
    yield Spec("build", "build", "Build the KrakenD plugin for every target (options after --).")
    for arch in Arch:
        yield Spec(f"build_{arch.value}", "build", f"Build the plugin for {arch.value} (alpine and generic).",
                   arch.value)
    for t in ALL_TARGETS:
        libc = "musl" if t.libc is Libc.ALPINE else "glibc"
        yield Spec(session_names(t)["build_session"], "build", f"Build the plugin for {t.name} ({libc}).", t.name)
    yield Spec("check", "check", "Check go.sum, Go and libc against the KrakenD release (as check-plugin, and more).")
    yield Spec("inspect", "inspect", "Describe built plugins (arch, libc, Go, modules, registerers) and preflight.")
    yield Spec("test_load", "test-load", "Load every built plugin for real (KrakenD, its image, or a Go loader).")
    for t in ALL_TARGETS:
        yield Spec(session_names(t)["test_session"], "test-load", f"Load the {t.name} plugin for real.", t.name)
    yield Spec("test_plugin", "test-load", "Old name of test_load (still works).", renamed="test_load")
    for t in ALL_TARGETS:
        new = session_names(t)["test_session"]
        yield Spec(f"test_plugin_{t.ident}", "test-load", f"Old name of {new} (still works).", t.name, new)
    yield Spec("new", "new", "Scaffold a plugin project: -- --type server|client|modifier --name NAME.")
    yield Spec("configure", "configure", "Add the plugin to krakend.json (plugin block and its namespace).")
    yield Spec("ship", "ship", "Write a Dockerfile of KrakenD's image with the plugin and config; build it.")
    yield Spec("smoke", "smoke", "Run the built plugins in the real KrakenD and send the declared requests.")
    yield Spec("dev", "dev", "The development loop: build, run KrakenD and the specs; on every save, again.")
    yield Spec("matrix", "matrix", "Print the targets as a GitHub Actions matrix (-- --json for CI).")
    yield Spec("krakend_check_plugin", "check-plugin", "KrakenD's check-plugin: -- -s go.sum -g GO -l LIBC -f.")
    yield Spec("krakend_test_plugin", "test-plugin", "KrakenD's test-plugin output: -- -s|-c|-m FILES...")


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
            s.error(f"{spec.command}: {FAILURE.get(spec.command, 'failed')}")

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
