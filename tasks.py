"""Invoke tasks of this repository: the krakend collection on the bundled example."""

from invoke import Collection, task

import krakend_tasks.invoke


@task
def lint(c):
    """ruff check."""
    c.run("ruff check .")


ns = Collection(lint)
ns.add_collection(krakend_tasks.invoke.collection(project="examples/hello-plugin"))
