"""A command is declared once: a throwaway one, added through `options.declare` alone, is found in the
CLI, the nox sessions, the invoke collection and the docs' options table, and runs from each."""

from __future__ import annotations

from typing import Any

import pytest

from krakend_tasks import cli, options
from krakend_tasks import nox as kt_nox
from krakend_tasks.invoke import collection

CALLS: list[dict[str, Any]] = []


def greet(project: str, *, greeting: str | None = None, times: int | None = None, **settings: Any) -> int:
    """The throwaway command's implementation: what it received, and a failure on demand."""
    CALLS.append({"project": str(project), "greeting": greeting, "times": times, "version": settings.get("version")})
    return 1 if greeting == "fail" else 0


@pytest.fixture
def declared():
    command = options.declare(options.Command(
        "greet-plugin", f"{__name__}:greet", "Say hello to the plugin (a throwaway command).", (
            options.Option("greeting", "what to say", metavar="TEXT"),
            options.Option("times", "how often", takes="int", metavar="N"),
        ), failure="the plugin was not greeted", per_target="target"))
    CALLS.clear()
    yield command
    options.COMMANDS.remove(command)
    del options.BY_NAME[command.name]


class FakeSession:
    def __init__(self, name: str, posargs: list[str]) -> None:
        self.name, self.posargs = name, posargs

    def error(self, *args: Any) -> None:
        raise RuntimeError(" ".join(map(str, args)))


def test_one_declaration_reaches_every_adapter_and_the_docs(declared):
    assert "greet-plugin" in cli.usage() and cli.run(["greet-plugin", "--greeting", "hi", "--times", "2"]) == 0
    assert CALLS[-1] == {"project": ".", "greeting": "hi", "times": 2, "version": None}

    sessions = {s.name: s for s in kt_nox.specs()}
    assert {"greet_plugin", "greet_plugin_amd64_alpine", "greet_plugin_arm64_generic"} <= set(sessions)
    spec = sessions["greet_plugin_arm64_generic"]
    kt_nox._session(spec.name, spec, ".", {"version": "2.13"})(FakeSession(spec.name, ["--greeting", "nox"]))
    assert CALLS[-1]["greeting"] == "nox" and CALLS[-1]["version"] == "2.13"
    with pytest.raises(RuntimeError, match="greet-plugin: the plugin was not greeted"):
        kt_nox._session(spec.name, spec, ".", {})(FakeSession(spec.name, ["--greeting", "fail"]))

    from invoke import Program

    tasks = collection(project=".")
    assert "greet-plugin" in tasks.task_names
    Program(namespace=tasks, name="t").run(["t", "greet-plugin", "--greeting", "invoke", "--times", "3"], exit=False)
    assert CALLS[-1]["greeting"] == "invoke" and CALLS[-1]["times"] == 3

    table = options.markdown()
    assert "| `greet-plugin` | `--greeting TEXT` | what to say |" in table and "|  | `--times N` | how often |" in table


def test_a_name_is_declared_once(declared):
    with pytest.raises(ValueError, match="exists"):
        options.declare(declared)
