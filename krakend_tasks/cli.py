"""`krakend-tasks`: the invoke collection as a standalone command (`krakend-tasks build ...`)."""

from __future__ import annotations

from invoke import Program

from krakend_tasks import __version__
from krakend_tasks.invoke import ns

program = Program(namespace=ns, name="krakend-tasks", binary="krakend-tasks", version=__version__)


def main() -> None:
    program.run()
