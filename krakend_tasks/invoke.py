"""Invoke adapter: a collection to add to a project's tasks.py.

    from invoke import Collection
    import krakend_tasks.invoke
    ns = Collection(...)
    ns.add_collection(krakend_tasks.invoke.collection(project="plugin"))   # krakend.build, ...

Defaults live in the collection's `krakend` configuration, so `invoke.yaml` and `INVOKE_KRAKEND_*`
variables override them; unset (None) values fall through to the project's file and
`KRAKEND_TASKS_*` variables. The `krakend-tasks` command runs the same tasks standalone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from invoke import Collection, Context, Exit, task

from krakend_tasks.errors import KrakendTasksError

SETTING_KEYS = ("version", "targets", "engine", "builder", "dist", "name", "pull", "network")


def _settings(c: Context, **arguments: Any):
    from krakend_tasks.core.settings import load_settings

    config = c.config.get("krakend", {})
    values = {key: config.get(key) for key in SETTING_KEYS}
    values.update({k: v for k, v in arguments.items() if v is not None})
    return load_settings(config.get("project") or ".", **values)


def _reporting(run: Callable[[], None]) -> None:
    try:
        run()
    except KrakendTasksError as exc:
        raise Exit(str(exc), code=exc.exit_code) from None


@task(help={
    "target": "targets: all (default), amd64, arm64, alpine, generic, or names like arm64-alpine",
    "version": "KrakenD version: 2.13.8, 2.13, 2 or latest",
    "engine": "auto (default: docker when a daemon answers), docker or local",
    "json": "print the artifacts as JSON",
})
def build(c: Context, target: str | None = None, version: str | None = None, engine: str | None = None,
          json: bool = False) -> None:
    """Build the KrakenD plugin for the chosen targets into dist/."""
    from krakend_tasks.core.build import build as run_build
    from krakend_tasks.render import print_artifacts

    _reporting(lambda: print_artifacts(
        run_build(_settings(c, targets=target, version=version, engine=engine)), as_machine=json))


def collection(project: str | None = None, name: str = "krakend", **defaults: Any) -> Collection:
    """A fresh collection of the krakend tasks, its defaults set (`project`, `version`, ...)."""
    unknown = set(defaults) - set(SETTING_KEYS)
    if unknown:
        raise ValueError(f"unknown krakend-tasks setting(s): {', '.join(sorted(unknown))}")
    tasks = Collection(name)
    tasks.add_task(build)
    tasks.configure({"krakend": {"project": project, **dict.fromkeys(SETTING_KEYS), **defaults}})
    return tasks


ns = collection()
