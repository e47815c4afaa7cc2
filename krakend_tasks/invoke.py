"""Invoke adapter: a collection to add to a project's tasks.py.

    from invoke import Collection
    import krakend_tasks.invoke
    ns = Collection(...)
    ns.add_collection(krakend_tasks.invoke.collection(project="plugin"))   # krakend.build, ...

The tasks and their options are made from krakend_tasks.options, as the nox sessions and the
`krakend-tasks` command are. Defaults live in the collection's `krakend` configuration, so
`invoke.yaml` and `INVOKE_KRAKEND_*` variables override them; unset (None) values fall through to
the project's file and `KRAKEND_TASKS_*` variables.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from inspect import Parameter, Signature
from typing import Any

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import Task

from krakend_tasks.core.project.setting_table import SETTINGS
from krakend_tasks.errors import ConfigError, KrakendTasksError, check_registration, described, did_you_mean
from krakend_tasks.options import COMMANDS, Command, Option


def setting_keys() -> tuple[str, ...]:
    """The krakend.* configuration keys: every declared setting but the smoke run's requests and specs
    (the project's own file holds them)."""
    return tuple(s.key for s in SETTINGS if s.key not in ("smoke", "smoke_specs"))



def _parameter(option: Option) -> str:
    return option.name.replace("-", "_")


def _default(option: Option) -> Any:
    return False if option.takes in ("bool", "switch") else None  # invoke: a False default makes a --x flag


def _opposite(option: Option) -> str:
    """A switch's second parameter (`no_build`): invoke makes it --no-build, so both ways are flags."""
    return f"no_{_parameter(option)}"


def make_task(command: Command, name: str = "") -> Task[Callable[..., None]]:
    """An invoke task of the command, with every option of options.COMMANDS (paths: repeatable --path);
    `name`: one of its old names, which says the new one when it runs."""
    options = command.all_options()

    def body(c: Context, **given: Any) -> None:
        if name:
            from krakend_tasks import logs

            logs.renamed(f"invoke task {name}", command.name)
        arguments = {}
        for option in options:
            value = given.get(_parameter(option))
            if option.takes == "switch":  # --x: True, --no-x: False, neither: None (the command's default)
                if value and given.get(_opposite(option)):
                    raise Exit(f"--{option.name} and --no-{option.name}: give one of them", code=2)
                value = True if value else False if given.get(_opposite(option)) else None
            elif option.takes == "int" and value is not None:
                if not (str(value).isascii() and str(value).isdigit()):
                    raise Exit(f"--{option.name}: {value!r} is not a whole number", code=2)
                value = int(value)
            elif option.takes == "float" and value is not None:
                try:
                    value = float(value)
                except ValueError as exc:
                    raise Exit(f"--{option.name}: {value!r} is not a number", code=2) from exc
            for item in value if isinstance(value, list) else [value]:
                if option.choices and item is not None and item not in option.choices:
                    near = did_you_mean(str(item), option.choices)
                    raise Exit(f"--{option.name}: {item!r} is not one of {', '.join(option.choices)}"
                               + (f"; {near}" if near else ""), code=2)
            arguments[option.keyword] = value
        _run(c, command, arguments)

    switches = [o for o in options if o.takes == "switch"]
    body.__signature__ = Signature([Parameter("c", Parameter.POSITIONAL_OR_KEYWORD)] + [  # type: ignore[attr-defined]
        Parameter(_parameter(o), Parameter.KEYWORD_ONLY, default=_default(o)) for o in options] + [
        Parameter(_opposite(o), Parameter.KEYWORD_ONLY, default=False) for o in switches])
    body.__name__ = command.function
    body.__doc__ = f"Old name of {command.name} (still works)." if name else command.help
    return Task(body, name=name or command.name, help={_parameter(o): o.help for o in options} | {
                _opposite(o): f"the opposite of --{o.name}" for o in switches},
                iterable=[_parameter(o) for o in options if o.takes == "list"])


def _run(c: Context, command: Command, arguments: dict[str, Any]) -> None:
    from krakend_tasks import commands

    config = dict(c.config.get("krakend", {}))
    prefix = f"{getattr(c.config, '_env_prefix', None) or 'INVOKE_'}KRAKEND_"  # invoke skips unknown ones
    config |= {k[len(prefix):].lower(): v for k, v in os.environ.items()
               if k.startswith(prefix) and k[len(prefix):].lower() not in config}
    project = config.pop("project", None) or "."
    given = {k: v for k, v in arguments.items() if v not in (None, [])}
    source = "invoke configuration (krakend.*: invoke.yaml, INVOKE_KRAKEND_*, collection())"
    if not isinstance(project, str):
        error = ConfigError(f"{source}: krakend.project is {type(project).__name__} {project!r}, not a folder",
                            hint='write it as a string, e.g. project: "plugins/auth"')
        raise Exit(str(error), code=error.exit_code)
    _call(lambda: commands.run(command, project, config, given, source))


def _call(run: Callable[[], int]) -> None:
    """Run a commands function; its errors and failing status become invoke's Exit."""
    try:
        status = run()
    except KrakendTasksError as exc:
        raise Exit(described(exc), code=exc.exit_code) from exc
    if status:
        raise Exit(code=status)


TASKS = {c.name: make_task(c) for c in COMMANDS}
globals().update({c.function: TASKS[c.name] for c in COMMANDS})  # krakend_tasks.invoke.build, .smoke, ...


def collection(project: str | None = None, name: str = "krakend", **defaults: Any) -> Collection:
    """A fresh collection of the krakend tasks, its defaults set (`project`, `version`, ...)."""
    check_registration("collection()", project, defaults, setting_keys())
    tasks = Collection(name)
    for command in COMMANDS:
        tasks.add_task(make_task(command))
        for old in command.old_names:
            tasks.add_task(make_task(command, old))
    tasks.configure({"krakend": {"project": project, **dict.fromkeys(setting_keys()), **defaults}})
    return tasks


ns = collection()
