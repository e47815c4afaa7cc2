"""Sessions of the __NAME__ KrakenD plugin (`nox -l` lists them)."""

import nox

import krakend_tasks.nox

krakend_tasks.nox.register(project=".")  # settings: krakend-tasks.toml


@nox.session(python=False)
def unit(session: nox.Session) -> None:
    """Run the plugin's Go tests."""
    session.run("go", "test", "./...", external=True)
