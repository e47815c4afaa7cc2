"""`new`: a plugin project that builds, checks and loads with krakend-tasks from the first run."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from krakend_tasks.core.krakend.releases import Release
from krakend_tasks.core.plugin_types import plugin_type
from krakend_tasks.core.workflows.configure import DEFAULT_FOLDER, DEFAULT_PATTERN, Placement, add_plugin
from krakend_tasks.data import DATA
from krakend_tasks.errors import ConfigError, DestinationExists

if TYPE_CHECKING:
    from krakend_tasks.core.krakend.lint import Krakend, Verdict

NAME = re.compile(r"[a-z][a-z0-9-]{0,62}\Z")
MODULE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~-]*(/[A-Za-z0-9._~-]+)*\Z")  # Go's module path characters
COMMON = {  # template in data/scaffold/common -> file written
    "plugin.go": "plugin.go", "noxfile.py": "noxfile.py", "tasks.py": "tasks.py", "gitignore": ".gitignore",
    "README.md": "README.md", "workflow.yml": ".github/workflows/plugin.yml",
}
# Every scaffold imports a module KrakenD links, so its first build and test already go through
# shared packages (their fingerprints must match KrakenD's). `check` says when a release links
# another version.
SHARED_MODULE, SHARED_VERSION = "github.com/google/uuid", "v1.6.0"
GO_SUM = (f"{SHARED_MODULE} {SHARED_VERSION} h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=\n"
          f"{SHARED_MODULE} {SHARED_VERSION}/go.mod h1:TIyPZe4MgqvfeYDBFedMoGGpEw/LqOeaOT+nhxU+yHo=\n")


def example_config(kind: str, name: str, release: Release) -> dict[str, Any]:
    """A krakend.json that uses the plugin: one endpoint, one backend, the plugin in its place."""
    minor = ".".join(release.version.split(".")[:2])
    config = {
        "$schema": f"https://www.krakend.io/schema/v{minor}/krakend.json",
        "version": 3,
        "port": 8080,
        "plugin": {"pattern": DEFAULT_PATTERN, "folder": DEFAULT_FOLDER},
        "endpoints": [{
            "endpoint": "/hello",
            "backend": [{"host": ["http://localhost:8080"], "url_pattern": "/__health"}],
        }],
    }
    settings = {"path": f"/__{name}"} if kind == "server" else {"header": "X-Krakend-Plugin"}
    add_plugin(config, Placement(kind, name, endpoint="/hello", settings=settings))
    return config


def smoke_requests(kind: str, name: str) -> str:
    """`[[smoke]]` requests that prove the plugin acted in the real KrakenD (nox -s smoke): a server
    plugin answers its path; a client or modifier plugin's header reaches the backend, which the
    smoke run's echo backend sends back."""
    if kind == "server":
        request = f'path = "/__{name}"\ncontains = "hello from {name}"\n'
    else:
        request = f'path = "/hello"\ncontains = \'"X-Krakend-Plugin":"{name}"\'\n'
    return f"# nox -s smoke: requests sent to the real KrakenD running the plugin\n[[smoke]]\n{request}"


def example_spec(kind: str, name: str) -> dict[str, Any]:
    """A KrakenD integration spec (core/serving/specs: krakend-integration's format) of what the plugin does
    in the gateway: a server plugin's answer, byte for byte; a client or modifier plugin's header as
    the backend received it (the smoke run's echo backend says), by a JSON Schema."""
    if kind == "server":
        return {"in": {"method": "GET", "url": f"http://localhost:8080/__{name}"},
                "out": {"status_code": 200, "body": f"hello from {name}\n",
                        "header": {"Content-Type": ["text/plain; charset=utf-8"]}}}
    header = {"type": "object", "required": ["X-Krakend-Plugin"],
              "properties": {"X-Krakend-Plugin": {"const": name}}}
    return {"in": {"method": "GET", "url": "http://localhost:8080/hello"},
            "out": {"status_code": 200, "header": {"Content-Type": ["application/json; charset=utf-8"]},
                    "schema": {"type": "object", "required": ["headers"], "properties": {"headers": header}}}}


def render(kind: str, name: str, module: str, release: Release, versions: str | None = None) -> dict[str, str]:
    """relative path -> text of every file of the new project. With `versions` (a range or a list,
    `>=2.12`), the project builds for each of those releases, and go.mod names the oldest one's Go."""
    plugin = plugin_type(kind)
    if not NAME.match(name):
        raise ConfigError(f"invalid plugin name {name!r}",
                          hint="use lower-case letters, digits and dashes, starting with a letter (e.g. my-plugin)")
    if not MODULE.match(module) or any(e.startswith(".") or e.endswith(".") for e in module.split("/")):
        raise ConfigError(f"invalid Go module path {module!r}",
                          hint="elements of letters, digits and -._~ joined by '/', e.g. github.com/acme/my-plugin")
    # an Enterprise type: its README (EE's data comes from the user's EE image), and no CI workflow
    # (the workflow builds with CE's release data)
    enterprise = plugin.enterprise
    minor = ".".join(release.version.split(".")[:2])
    tokens = {"__NAME__": name, "__VERSION__": minor if enterprise else release.version, "__GO__": release.go,
              "__KIND__": plugin.description}
    base = DATA.joinpath("scaffold")
    sources = {dest: base / "common" / src for src, dest in COMMON.items()
               if not (enterprise and src == "workflow.yml")}
    sources |= {f: base / kind / f for f in ("main.go", "main_test.go", *(["README.md"] if enterprise else []))}
    files = {}
    for dest, source in sources.items():
        text = source.read_text()
        for token, value in tokens.items():
            text = text.replace(token, value)
        files[dest] = text
    go = release.go
    if versions:
        from krakend_tasks.core.golang.gomod import go_version_key
        from krakend_tasks.core.krakend.releases import select

        go = min((r.go for r in select(versions)), key=go_version_key)
    files["go.mod"] = f"module {module}\n\ngo {go}\n\nrequire {SHARED_MODULE} {SHARED_VERSION}\n"
    files["go.sum"] = GO_SUM
    edition = ('# KrakenD Enterprise: its Go and modules are read from your EE image (--image) or binary\n'
               'edition = "ee"\n')
    files["krakend-tasks.toml"] = ("# krakend-tasks settings (docs/configuration.md)\n"
                                   f'version = "{versions or (minor if enterprise else release.version)}"\n'
                                   + (edition if enterprise else "") +
                                   "# nox -s smoke: KrakenD integration specs (krakend-integration's format)\n"
                                   f'smoke_specs = "specs"\n\n{smoke_requests(kind, name)}')
    files[f"specs/{kind}.json"] = json.dumps(example_spec(kind, name), indent=4) + "\n"
    files["krakend.json"] = json.dumps(example_config(kind, name, release), indent=4) + "\n"
    return dict(sorted(files.items()))


def new(dest: str | Path, kind: str, name: str | None = None, module: str | None = None,
        release: Release | None = None, versions: str | None = None, krakend: Krakend | None = None,
        ) -> tuple[list[Path], Verdict | None]:
    """Write a new plugin project into `dest` (which must not exist or be empty); return its files, and
    KrakenD's verdict on its krakend.json (linted before anything is written, when `krakend` is given)."""
    from krakend_tasks.core.files import write_atomic
    from krakend_tasks.core.krakend.releases import resolve

    dest = Path(dest)
    name = dest.name if name is None else name
    module = f"example.com/krakend-plugins/{name}" if module is None else module
    files = render(kind, name, module, release or resolve("latest"), versions)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise DestinationExists(f"{dest} already exists and is not empty; nothing was written",
                                hint="choose a new folder (--dest), or remove this one first")
    verdict = None
    if krakend is not None:
        from krakend_tasks.core.krakend.lint import lint_text, refuse

        verdict = lint_text(files["krakend.json"], str(dest / "krakend.json"), krakend)
        refuse(verdict, f"the new project's {dest / 'krakend.json'}")
    # written beside it, then renamed into place: a full disk or Ctrl-C leaves no half project
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = dest.parent / f".{dest.name}.{os.getpid()}.new"
    try:
        for relative, text in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, text)
        if dest.is_dir():
            dest.rmdir()
        staging.rename(dest)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(dest)) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [dest / relative for relative in files], verdict
