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


@nox.session(python=False, default=False)
def refresh_releases(session: nox.Session) -> None:
    """Rewrite krakend_tasks/data/releases.tsv from a new table: nox -s refresh_releases -- FILE|URL."""
    from krakend_tasks.core.krakend.releases import refresh

    if len(session.posargs) != 1:
        session.error("usage: nox -s refresh_releases -- FILE_OR_URL (a TSV with the columns of releases.tsv)")
    releases = refresh(session.posargs[0])
    session.log(f"{len(releases)} releases, newest {releases[-1].version} (Go {releases[-1].go})")
