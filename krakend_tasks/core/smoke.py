"""The smoke run: the built plugins in the real KrakenD gateway, answering the declared requests.

KrakenD runs (core/krakend_run.serve) on a copy of the project's krakend.json in which only what
a run on this machine needs changes: a free port, the plugin folder (the plugins of one target,
named `<name>.so` as `ship` installs them) and, unless asked to keep them, every backend host,
which points at a small echo backend on loopback (it answers any request with JSON describing it:
method, path, query, headers, body). Once `/__health` answers, each spec (core/specs: the
`[[smoke]]` requests, then the specs folder's KrakenD integration specs) is sent and judged as
KrakenD's harness judges it; with none declared, KrakenD's log must show each plugin loaded by its
type's loader and refused by none.
"""

from __future__ import annotations

import http.client
import json
import platform
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple

from krakend_tasks import logs
from krakend_tasks.core.configure import read_config
from krakend_tasks.core.elf import program_target, read_elf
from krakend_tasks.core.krakend_run import CONFIG_IN_IMAGE, Running, serve
from krakend_tasks.core.manifest import read_manifest
from krakend_tasks.core.plugin_types import PluginType
from krakend_tasks.core.settings import Settings
from krakend_tasks.core.specs import REQUEST_TIMEOUT, Spec, Verdict, check, from_smoke, read_specs
from krakend_tasks.core.targets import Arch, Libc, Target
from krakend_tasks.errors import ConfigError, KrakendConfigError, LoadTimedOut

PLUGINS_IN_IMAGE = "/krakend-tasks/plugins/"
READY_TIMEOUT = 30.0  # seconds for /__health to answer (--load-timeout; arm64 under qemu starts slowly)
DEFAULT_PORT = 8080  # KrakenD's, when the config names none
TELLING = ("plugin", "error", "panic", "fatal", "unable", "invalid", "refus", "not found")


class SmokeReport(NamedTuple):
    krakend: str  # what ran: "binary ...", "image ..."
    target: Target
    plugins: list[str]
    specs: tuple[Spec, ...]  # declared; those without an outcome were not sent
    outcomes: list[Verdict]  # filled as the specs are sent
    problems: list[str]  # not tied to a request: refused config, unloaded plugin
    log: tuple[str, ...] = ()  # KrakenD's lines that explain a failure
    ready_seconds: float | None = None  # how long /__health took to answer

    @property
    def ok(self) -> bool:
        return not self.problems and all(o.ok for o in self.outcomes)


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
    return files


def declared_specs(settings: Settings, port: int, log: Callable[[str], None] = lambda _: None) -> list[Spec]:
    """The `[[smoke]]` requests, then the specs of the `smoke_specs` folder; their warnings logged."""
    specs = from_smoke(settings.smoke, port)
    if settings.smoke_specs:
        found, warnings = read_specs(settings.project / settings.smoke_specs, port)
        for warning in warnings:
            log(logs.warning(f"warning: {warning}"))
        specs += found
    return specs


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
        shutil.copyfile(built, plugins / f"{name}.so")
        (plugins / f"{name}.so").chmod(0o644)
    data = dict(data, port=port)
    if not shipped:
        data["plugin"] = dict(data["plugin"], folder=PLUGINS_IN_IMAGE if in_image else str(plugins) + "/")
    if backend:
        data = with_backends(data, backend)
    staged = folder / "krakend.json"
    staged.write_text(json.dumps(data, indent=2))
    staged.chmod(0o644)
    return Stage(staged, [(plugins, PLUGINS_IN_IMAGE)] if in_image and not shipped else [])


def smoke(settings: Settings, config: Path, *, krakend_bin: str | Path | None = None, image: str | None = None,
          shipped: bool = False, keep_backends: bool = False, request_timeout: float = REQUEST_TIMEOUT,
          ready_timeout: float = READY_TIMEOUT, follow_redirects: bool = True,
          log: Callable[[str], None] = lambda _: None) -> SmokeReport:
    """Start KrakenD with the plugins and config, send the declared specs; KrakenD always stopped.

    `image` is KrakenD's image (the plugins mounted), or with `shipped` the image `ship` built (the
    plugins and config inside; only the port and the backends of the config change). Every spec is
    read and checked before anything starts.
    """
    target = host_target(krakend_bin)
    names = [plugin.plugin_name() for plugin in settings.per_plugin()]
    files = {} if shipped else plugin_files(settings, target)
    data = read_config(config).data
    specs = declared_specs(settings, config_port(data, config), log)
    plugin_block(data, config, names)
    with staged_folder() as folder, echo_backend(keep_backends) as backend:
        port = free_port()
        staged = stage(folder, data, files, port, in_image=not krakend_bin, backend=backend, shipped=shipped)
        log(logs.progress(f"starting KrakenD ({krakend_bin or image}) on port {port}"))
        with serve(staged.config, krakend_bin=krakend_bin, image=image, mounts=staged.mounts, pull=settings.pull,
                   platform=f"linux/{target.arch.value}") as running:
            report = SmokeReport(running.what, target, names, tuple(specs), outcomes=[], problems=[])
            started = time.monotonic()
            said = running.lines  # KrakenD names the staged copy: say the user's file instead
            if not wait_ready(running, port, report.problems, staged.config, config, ready_timeout):
                return _explained(report, as_users(said, staged.config, config))
            report = report._replace(ready_seconds=time.monotonic() - started)
            for spec in specs:
                report.outcomes.append(check(spec, port, timeout=request_timeout, follow_redirects=follow_redirects))
            if not specs:  # then KrakenD's log must show each plugin loaded by its type's loader
                kinds = {name: read_elf(path).plugin_types for name, path in files.items()}
                time.sleep(0.05)  # the loaders' last lines
                report.problems.extend(unregistered(kinds or {name: [] for name in names}, running.lines))
            if not report.ok:
                time.sleep(0.1)  # the log lines of the failed requests
                report = _explained(report, as_users(said, staged.config, config))
    return report


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


def _explained(report: SmokeReport, lines: list[str]) -> SmokeReport:
    telling = [line for line in lines if any(word in line.lower() for word in TELLING)
               or any(name in line for name in report.plugins)]
    return report._replace(log=tuple(telling[-40:] or lines[-20:]))


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
        for kind in kinds:
            said = [line.rsplit(":", 1)[1].strip() for line in lines
                    if f"[SERVICE: {SERVICES[kind]}] Total plugins loaded:" in line]
            if not said or said[-1] == "0":
                problems.append(f"KrakenD registered no {kind} plugin, and {name!r} is one (its log has no "
                                f"'[SERVICE: {SERVICES[kind]}] Total plugins loaded: N')")
    return problems


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
        server.shutdown()
        server.server_close()

