"""Tasks of the __NAME__ KrakenD plugin (`invoke --list` lists them)."""

from invoke import task

import krakend_tasks.invoke


@task
def unit(c):
    """Run the plugin's Go tests."""
    c.run("go test ./...")


ns = krakend_tasks.invoke.collection(project=".")  # settings: krakend-tasks.toml
ns.add_task(unit)
