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

from typing import Any

from invoke import Collection, Context, Exit, task

from krakend_tasks.errors import KrakendTasksError

SETTING_KEYS = ("version", "targets", "engine", "builder", "dist", "name", "pull", "network", "krakend_image",
                "runner", "modcache")


@task(help={
    "target": "targets: all (default), amd64, arm64, alpine, generic, or names like arm64-alpine",
    "version": "KrakenD version: 2.13.8, 2.13, 2 or latest",
    "engine": "auto (default: docker when a daemon answers), docker or local",
    "json": "print the artifacts as JSON",
})
def build(c: Context, target: str | None = None, version: str | None = None, engine: str | None = None,
          json: bool = False) -> None:
    """Build the KrakenD plugin for the chosen targets into dist/."""
    _run(c, "build", json=json, targets=target, version=version, engine=engine)


@task(help={
    "target": "targets whose libc to compare (default: the configured ones)",
    "version": "KrakenD version: 2.13.8, 2.13, 2 or latest",
    "format": "table (default), json, or krakend (KrakenD's own check-plugin text)",
    "fix": "print the commands that fix module differences (KrakenD's -f)",
    "apply": "run those commands, then check again (go.mod/go.sum restored if one fails)",
    "go": "Go version the plugin is built with (default: the release's; krakend format: KrakenD's)",
    "libc": "libc string the plugin is built with (default: the target's; krakend format: empty)",
    "krakend-bin": "read KrakenD's Go, libc and modules from this binary",
    "image": "read them from this image's /usr/bin/krakend when the module proxy cannot serve them",
})
def check(c: Context, target: str | None = None, version: str | None = None, format: str = "table",
          fix: bool = False, apply: bool = False, go: str | None = None, libc: str | None = None,
          krakend_bin: str | None = None, image: str | None = None) -> None:
    """Check go.sum, Go and libc against a KrakenD release; exit 1 when incompatible."""
    _run(c, "check", output=format, fix=fix, apply=apply, go=go, libc=libc, krakend_bin=krakend_bin, image=image,
         targets=target, version=version)


@task(iterable=["path", "type"], help={
    "path": ".so file (repeatable; default: the artifacts in dist/manifest.json)",
    "target": "target to preflight against (default: the artifact's, or read from the file)",
    "type": "declared plugin type: server, client, modifier (repeatable)",
    "json": "print JSON",
    "krakend-bin": "compare modules and package fingerprints with this KrakenD binary's",
    "image": "compare package fingerprints with the KrakenD of this image (/usr/bin/krakend)",
})
def inspect(c: Context, path: list[str] | None = None, target: str | None = None, type: list[str] | None = None,
            json: bool = False, krakend_bin: str | None = None, image: str | None = None) -> None:
    """Describe built plugins without loading them, and predict load failures."""
    _run(c, "inspect", paths=path, target=target, kinds=type, json=json, krakend_bin=krakend_bin, image=image)


@task(name="test", iterable=["path", "type"], help={
    "path": ".so file (repeatable; default: the artifacts in dist/manifest.json)",
    "target": "only these targets",
    "type": "plugin type to test: server, client, modifier (repeatable; default: what the file exports)",
    "json": "print JSON",
    "krakend-bin": "use this KrakenD's test-plugin",
    "image": "run test-plugin in this KrakenD image",
})
def test_load(c: Context, path: list[str] | None = None, target: str | None = None, type: list[str] | None = None,
              json: bool = False, krakend_bin: str | None = None, image: str | None = None) -> None:
    """Load built plugins for real: KrakenD's test-plugin, or a Go loader of the same Go and target."""
    _run(c, "test", paths=path, target=target, kinds=type, json=json, krakend_bin=krakend_bin, image=image)


@task(help={
    "type": "server, client or modifier",
    "name": "the plugin's name (lower case, digits, dashes)",
    "dest": "folder to create (default: ./NAME); it must not exist or be empty",
    "module": "Go module path (default: example.com/krakend-plugins/NAME)",
    "version": "KrakenD version whose Go the project uses (default: latest)",
})
def new(c: Context, type: str | None = None, name: str | None = None, dest: str | None = None,
        module: str | None = None, version: str | None = None) -> None:
    """Scaffold a plugin project that builds, checks and loads with these tasks."""
    version = version or c.config.get("krakend", {}).get("version")
    _call(lambda commands: commands.new(kind=type, name=name, dest=dest, module=module, version=version))


@task(help={
    "config": "the krakend.json to edit (default: the project's)",
    "type": "server, client or modifier (default: what the built plugin exports)",
    "name": "the plugin's name (default: the module's last element)",
    "endpoint": "endpoint path, for client and modifier plugins",
    "method": "the endpoint's method, when several share the path",
    "backend": "backend index (0-based): where a client goes; puts a modifier on the backend",
    "folder": "plugin folder KrakenD reads (default /opt/krakend/plugins/)",
    "pattern": "file-name pattern KrakenD loads (default .so)",
    "settings": "the plugin's own configuration, as JSON",
    "validate": "check every plugin name the config uses against the plugins in dist/",
    "plugins": "folder of plugins to validate against (default: dist)",
    "krakend-bin": "confirm with this KrakenD binary's `check -c`",
    "image": "confirm with `krakend check -c` in this KrakenD image",
})
def configure(c: Context, config: str | None = None, type: str | None = None, name: str | None = None,
              endpoint: str | None = None, method: str | None = None, backend: int | None = None,
              folder: str | None = None, pattern: str | None = None, settings: str | None = None,
              validate: bool = False, plugins: str | None = None, krakend_bin: str | None = None,
              image: str | None = None) -> None:
    """Add the plugin to krakend.json: atomic, with a .bak, idempotent."""
    _run(c, "configure", config=config, kind=type, name=name, endpoint=endpoint, method=method, backend=backend,
         folder=folder, pattern=pattern, plugin_settings=settings, validate=validate, plugins=plugins,
         krakend_bin=krakend_bin, image=image)


@task(help={
    "config": "the krakend.json to ship (default: krakend.json)",
    "force": "replace a Dockerfile krakend-tasks did not write",
    "build": "build the image when a Docker daemon answers (--no-build: only write the Dockerfile)",
    "tag": "image tag (default: NAME-krakend:VERSION)",
    "arch": "image architecture: amd64 or arm64 (default: the first alpine build)",
})
def ship(c: Context, config: str | None = None, force: bool = False, build: bool = True,
         tag: str | None = None, arch: str | None = None) -> None:
    """Write a Dockerfile of KrakenD's image with the plugin and config; build it."""
    _run(c, "ship", config=config, force=force, build=None if build else False, tag=tag, arch=arch)


@task(help={"target": "targets (default: the configured ones)", "json": "one line of JSON, for CI"})
def matrix(c: Context, target: str | None = None, json: bool = False) -> None:
    """Print the targets as a GitHub Actions matrix (include form)."""
    _run(c, "matrix", targets=target, json=json)


def _run(c: Context, command: str, **arguments: Any) -> None:
    config = c.config.get("krakend", {})
    values = {key: config.get(key) for key in SETTING_KEYS}
    values.update({k: v for k, v in arguments.items() if v not in (None, [])})
    _call(lambda commands: getattr(commands, command)(config.get("project") or ".", **values))


def _call(run: Any) -> None:
    """Run a commands function; its errors and failing status become invoke's Exit."""
    from krakend_tasks import commands

    try:
        status = run(commands)
    except KrakendTasksError as exc:
        raise Exit(str(exc), code=exc.exit_code) from None
    if status:
        raise Exit(code=status)


def collection(project: str | None = None, name: str = "krakend", **defaults: Any) -> Collection:
    """A fresh collection of the krakend tasks, its defaults set (`project`, `version`, ...)."""
    unknown = set(defaults) - set(SETTING_KEYS)
    if unknown:
        raise ValueError(f"unknown krakend-tasks setting(s): {', '.join(sorted(unknown))}")
    tasks = Collection(name)
    for each in (build, check, inspect, test_load, new, configure, ship, matrix):
        tasks.add_task(each)
    tasks.configure({"krakend": {"project": project, **dict.fromkeys(SETTING_KEYS), **defaults}})
    return tasks


ns = collection()
