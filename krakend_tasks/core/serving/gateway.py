"""The gateway of this machine: the real KrakenD on a staged copy of a config, answering on loopback.

smoke, dev and bench run KrakenD through this module: the plugins of one target copied beside a
copy of the config (`stage`: a free port, the plugin folder, every backend host pointed at a
loopback backend), KrakenD started (core/krakend/runner.serve) and `/__health` awaited (`wait_ready`);
KrakenD's lines name the user's config, not the copy (`as_users`).
"""

from __future__ import annotations

import http.client
import json
import os
import platform
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple

from krakend_tasks.core.golang.elf import program_target, registerers
from krakend_tasks.core.krakend.runner import CONFIG_IN_IMAGE, Running
from krakend_tasks.core.plugin_types import PluginType, enterprise_only
from krakend_tasks.core.project.manifest import read_manifest
from krakend_tasks.core.project.settings import Settings
from krakend_tasks.core.targets import Arch, Libc, Target
from krakend_tasks.errors import ConfigError, KrakendConfigError, LoadTimedOut

PLUGINS_IN_IMAGE = "/krakend-tasks/plugins/"
READY_TIMEOUT = 30.0  # seconds for /__health to answer (--load-timeout; arm64 under qemu starts slowly)
DEFAULT_PORT = 8080  # KrakenD's, when the config names none


def host_target(krakend_bin: str | Path | None) -> Target:
    """The target whose plugins a KrakenD loads: the binary's own, else this host's alpine (the image)."""
    if krakend_bin:
        found = program_target(krakend_bin)
        if found is None:
            raise ConfigError(f"{krakend_bin} is not a KrakenD binary for amd64 or arm64 Linux",
                              hint="pass the krakend executable (--krakend-bin), or use its image (--image)")
        return found
    arch = Arch.ARM64 if platform.machine() in ("aarch64", "arm64") else Arch.AMD64
    return Target(arch, Libc.ALPINE)


def plugin_files(settings: Settings, target: Target) -> dict[str, Path]:
    """name -> the built .so of each plugin of the project for `target` and the release."""
    version = settings.release.version
    built = {a.path: settings.dist_dir / a.path for a in read_manifest(settings.dist_dir)
             if a.krakend == version and a.target == target.name}
    files = {}
    for plugin in settings.per_plugin():
        name = plugin.plugin_name()
        file = f"{name}-{version}-{target.name}.so"
        if file not in built or not built[file].is_file():
            raise ConfigError(f"no {target.name} build of {name} for KrakenD {version} in {settings.dist_dir}",
                              hint=f"build it first: nox -s build -- --target {target.name} --version {version}")
        files[name] = built[file]
    if settings.release.edition == "ce":  # a plugin CE never loads would make the run prove nothing
        from krakend_tasks.core.krakend.editions import refuse_in_ce

        refuse_in_ce(settings.release, [f"{name} ({', '.join(only)})" for name, path in files.items()
                                        if (only := enterprise_only(registerers(path)))], "the plugins to run")
    return files


def config_port(data: dict[str, Any], config: Path) -> int:
    port = data.get("port", DEFAULT_PORT)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise KrakendConfigError(f"{config}: port = {json.dumps(port)} is not a port number",
                                 hint='e.g. "port": 8080')
    return port


def plugin_block(data: dict[str, Any], config: Path, names: list[str]) -> dict[str, Any]:
    """The config's root `plugin` block, when KrakenD would load these plugins with it."""
    loading = data.get("plugin")
    if not isinstance(loading, dict) or not loading.get("folder"):
        raise KrakendConfigError(f"{config} has no root `plugin` block with a folder: KrakenD would load no plugin",
                                 hint="add the plugin first: krakend-tasks configure")
    pattern = str(loading.get("pattern", ""))
    if any(pattern not in f"{name}.so" for name in names):
        raise KrakendConfigError(f"plugin.pattern {pattern!r} of {config} does not match "
                                 f"{', '.join(n + '.so' for n in names)}", hint='use a pattern such as ".so"')
    return loading


class Stage(NamedTuple):
    """What one KrakenD runs on: a copy of the config and the plugins, in a folder of their own."""

    config: Path  # the staged krakend.json
    mounts: list[tuple[Path, str]]  # host folder -> path in KrakenD's image


def stage(folder: Path, data: dict[str, Any], files: dict[str, Path], port: int, *, in_image: bool,
          backend: str | None, shipped: bool = False) -> Stage:
    """Write the config KrakenD runs into `folder`: the port, the plugins of `files` (as `<name>.so`,
    as ship installs them) and, with a `backend`, every backend host pointed at it."""
    plugins = folder / "plugins"
    plugins.mkdir(mode=0o755)
    for name, built in files.items():
        if not in_image:  # a KrakenD of this user: a link, not an 11 MB copy
            with suppress(OSError):
                os.link(built, plugins / f"{name}.so")
                continue
        shutil.copyfile(built, plugins / f"{name}.so")
        (plugins / f"{name}.so").chmod(0o644)  # KrakenD's image reads it as uid 1000
    data = dict(data, port=port)
    if not shipped and "plugin" in data:  # a config without plugins (bench's baseline) keeps none
        data["plugin"] = dict(data["plugin"], folder=PLUGINS_IN_IMAGE if in_image else str(plugins) + "/")
    if backend:
        data = with_backends(data, backend)
    staged = folder / "krakend.json"
    staged.write_text(json.dumps(data, indent=2))
    staged.chmod(0o644)
    return Stage(staged, [(plugins, PLUGINS_IN_IMAGE)] if in_image and not shipped else [])


def wait_ready(running: Running, port: int, problems: list[str], staged: Path, config: Path, limit: float) -> bool:
    """True once /__health answers; False when KrakenD exited first (`problems` says why, in its
    words); LoadTimedOut when it still runs without answering after `limit` seconds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        status = running.exit_status()
        if status is not None:
            time.sleep(0.1)  # the last lines of its log
            problems.append(f"KrakenD exited with status {status} before answering /__health"
                            + _refusal(as_users(running.lines, staged, config)))
            return False
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            conn.request("GET", "/__health")
            if conn.getresponse().status == 200:
                return True
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()
        time.sleep(0.01)
    said = as_users(running.lines, staged, config)
    raise LoadTimedOut(f"KrakenD did not answer /__health on port {port} within {limit:g} s: a plugin's init() or "
                       "registerer may never return (KrakenD hangs the same way at start)"
                       + (f"; its last line: {said[-1].strip()}" if said else ""),
                       hint="find what init() waits on; if KrakenD is only slow to start (arm64 under qemu), raise "
                            "the limit: --load-timeout S")


def _refusal(lines: list[str]) -> str:
    """KrakenD's own words when it stops at once: its last line that says an error."""
    said = [line for line in lines if any(word in line.lower() for word in ("error", "fatal", "panic", "unable"))]
    return f": {said[-1].strip()}" if said else (f": {lines[-1].strip()}" if lines else "")


def as_users(lines: list[str], staged: Path, config: Path) -> list[str]:
    """KrakenD's lines naming the user's config where they name the copy it ran on."""
    return [line.replace(str(staged), str(config)).replace(CONFIG_IN_IMAGE, str(config)) for line in lines]


def with_backends(config: dict[str, Any], url: str) -> dict[str, Any]:
    """The config with every backend host (and the root default `host`) replaced by `url`."""
    out = dict(config)
    if "host" in out:
        out["host"] = [url]
    endpoints = []
    for endpoint in out.get("endpoints") or []:
        if isinstance(endpoint, dict) and isinstance(endpoint.get("backend"), list):
            endpoint = dict(endpoint, backend=[dict(b, host=[url]) if isinstance(b, dict) else b
                                               for b in endpoint["backend"]])
        endpoints.append(endpoint)
    if "endpoints" in out:
        out["endpoints"] = endpoints
    return out


SERVICES = {PluginType.SERVER: "Handler Plugin", PluginType.CLIENT: "Executor Plugin",
            PluginType.MODIFIER: "Modifier Plugin"}  # how KrakenD's log names each plugin loader


def unregistered(plugins: dict[str, list[PluginType]], lines: list[str]) -> list[str]:
    """What KrakenD's log says against each plugin: refused when opened (`plugin #i (<folder>/<name>.so):
    <error>`, a missing registerer of another type aside), or its type's loader loaded none."""
    problems = []
    for name, kinds in plugins.items():
        refused = [line.split(".so): ", 1)[1] for line in lines
                   if f"/{name}.so): " in line and " not found in plugin " not in line]
        if refused:
            problems.append(f"KrakenD refused plugin {name!r}: {refused[0]}")
            continue
        for kind in (k for k in kinds if k in SERVICES):  # Enterprise's own loaders: their words are not known
            said = [line.rsplit(":", 1)[1].strip() for line in lines
                    if f"[SERVICE: {SERVICES[kind]}] Total plugins loaded:" in line]
            if not said or said[-1] == "0":
                problems.append(f"KrakenD registered no {kind} plugin, and {name!r} is one (its log has no "
                                f"'[SERVICE: {SERVICES[kind]}] Total plugins loaded: N')")
    return problems


_handed_out: set[int] = set()


def free_port() -> int:
    """A port free on this machine now, for a server that binds it later (KrakenD binds its config's).

    Chosen below the kernel's ephemeral range, where outgoing connections take their local ports (a
    port picked there is taken by the next connection often enough to fail a run), and never one this
    process handed out before (two picks in a row must not meet)."""
    import random

    low = _ephemeral_start()
    for _ in range(200):
        port = random.randrange(max(1024, low - 12000), low)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise ConfigError(f"no free port below {low} on this machine", hint="stop the servers that hold them")


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


@contextmanager
def staged_folder() -> Iterator[Path]:
    """A folder KrakenD can read, also as uid 1000 in its image; removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="krakend-tasks-smoke-"))
    try:
        folder.chmod(0o755)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class _Echo(BaseHTTPRequestHandler):
    """Answers every request with JSON describing it."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode(errors="replace") if length else ""
        path, _, query = self.path.partition("?")
        payload = json.dumps({"backend": "krakend-tasks smoke", "method": self.command, "path": path,
                              "query": query, "headers": dict(self.headers.items()), "body": body}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _answer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


@contextmanager
def echo_backend(keep: bool) -> Iterator[str | None]:
    """The loopback backend's URL while the block runs (None when the config's backends are kept)."""
    if keep:
        yield None
        return
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        _stop(server)


def _stop(server: ThreadingHTTPServer) -> None:
    """server.shutdown(), without waiting up to a poll interval for serve_forever to notice it: a
    connection wakes its select at once (31 ms a smoke, the median, before)."""
    stopping = threading.Thread(target=server.shutdown, daemon=True)
    stopping.start()
    address = ("127.0.0.1", server.server_address[1])
    while stopping.is_alive():
        with suppress(OSError), socket.create_connection(address, timeout=1):
            pass
        stopping.join(0.002)
    server.server_close()
