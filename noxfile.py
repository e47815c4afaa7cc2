"""Sessions of this repository: the krakend-tasks sessions on the bundled example, tests, lint."""

import nox

import krakend_tasks.nox

nox.options.default_venv_backend = "none"
krakend_tasks.nox.register(project="examples/hello-plugin")


@nox.session(python=False)
def tests(session: nox.Session) -> None:
    """Run the test suite (real Go builds, Docker engine and cross compilers where present)."""
    session.run("pytest", *session.posargs)


@nox.session(python=False)
def lint(session: nox.Session) -> None:
    """ruff check."""
    session.run("ruff", "check", ".")
