"""The development loop: build, start KrakenD, run the specs; then, on every save, again.

One module over the build (core/building/build) and the gateway (core/serving/gateway: the staged config, the echo
backend, KrakenD started and awaited; core/serving/specs): nothing here starts KrakenD its own way.

- Start: the plugins built for one target (the KrakenD's), KrakenD started with them and the
  project's config on the port, `/__health` awaited, the specs run.
- Watch (watchfiles, debounced): a change to the sources (anything of the project but the config,
  the specs, dist/ and what git ignores) rebuilds in this process, with the engine made at start
  (its Docker client kept), then restarts KrakenD; a change to the config restarts it after
  `krakend check -c` passed; a change to the specs only runs them again.
- A build that fails or is unloadable, a config KrakenD refuses, a KrakenD that does not become
  healthy: the KrakenD that was serving keeps serving (restarted from its own staged copy when the
  new one was given its port), the error is shown, and the next save tries again.
- Ctrl-C, SIGTERM, SIGHUP: KrakenD stopped (its container removed), every build stopped; 0.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from krakend_tasks.core.building.build import build
from krakend_tasks.core.files import remove_stale
from krakend_tasks.core.krakend.config import read_config
from krakend_tasks.core.krakend.lint import Krakend, lint
from krakend_tasks.core.krakend.runner import Running, serve
from krakend_tasks.core.project.settings import Settings, load_settings
from krakend_tasks.core.serving.gateway import (
    READY_TIMEOUT,
    as_users,
    config_port,
    echo_backend,
    host_target,
    plugin_block,
    plugin_files,
    stage,
    wait_ready,
)
from krakend_tasks.core.serving.specs import REQUEST_TIMEOUT, Spec, check, declared_specs
from krakend_tasks.core.targets import Target
from krakend_tasks.errors import ConfigError, KrakendTasksError, ProjectGone

if TYPE_CHECKING:
    from watchfiles import Change

DEBOUNCE_MS = 100
COMPILER = re.compile(r"^(?:\S+/)?[\w.-]+\.go:\d+:\d+: ")  # the compiler's file:line:col: message


class Event(NamedTuple):
    """What happened: one line of --plain, one object of --json, one update of the screen."""

    kind: str  # start | build | config | krakend | checks | log | change | stop
    ok: bool
    message: str
    details: tuple[str, ...] = ()  # compiler lines, KrakenD's words, the failing checks
    seconds: float | None = None


Emit = Callable[[Event], None]


class Generation:
    """One KrakenD of the loop: its staged copy (kept while it serves, to restart it) and its process."""

    def __init__(self, settings: Settings, config: Path, data: dict[str, Any], files: dict[str, Path], port: int,
                 backend: str | None, krakend_bin: str | None, image: str | None, target: Target) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix=f"krakend-tasks-dev-{os.getpid()}-"))
        self.folder.chmod(0o755)
        self.staged = stage(self.folder, data, files, port, in_image=not krakend_bin, backend=backend)
        self.config, self.port, self.target = config, port, target
        self.krakend_bin, self.image, self.pull = krakend_bin, image, settings.pull
        self.running: Running | None = None
        self.since = 0.0
        self._stack = ExitStack()

    def plugins(self) -> dict[str, Path]:
        """name -> the staged copy of each plugin this KrakenD runs."""
        return {path.stem: path for path in (self.folder / "plugins").glob("*.so")}

    def start(self, limit: float) -> list[str]:
        """Start KrakenD on this copy and wait for /__health; what went wrong, in KrakenD's words."""
        self.running = self._stack.enter_context(serve(
            self.staged.config, krakend_bin=self.krakend_bin, image=self.image, mounts=self.staged.mounts,
            pull=self.pull, platform=f"linux/{self.target.arch.value}"))
        problems: list[str] = []
        try:
            if wait_ready(self.running, self.port, problems, self.staged.config, self.config, limit):
                self.since = time.time()
                return []
        except KrakendTasksError as exc:  # it runs and does not answer: a plugin's init() that blocks
            problems.append(exc.message)
        self.stop()
        return problems

    def stop(self) -> None:
        self._stack.close()
        self.running = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def plugin_lines(self, names: list[str], keep: int = 8) -> list[str]:
        lines = as_users(self.running.lines if self.running else [], self.staged.config, self.config)
        return [line for line in lines if "[PLUGIN" in line or any(f"[{n}]" in line for n in names)][-keep:]


def port_in_use(port: int) -> str | None:
    """Who holds `port` (a process name and pid where /proc says), or None when it is free."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
            return None
        except OSError:
            pass
    return _holder(port) or "another process"


def _holder(port: int) -> str | None:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # LISTEN
                    inodes.add(fields[9])
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}").removeprefix("socket:[").rstrip("]") in inodes:
                    name = Path(f"/proc/{pid}/comm").read_text().strip()
                    return f"{name} (pid {pid})"
    return None


class Loop:
    """The loop's state and steps; `run` drives it from the watcher."""

    def __init__(self, settings: Settings, config: Path, emit: Emit, *, krakend_bin: str | None, image: str | None,
                 port: int | None, keep_backends: bool, request_timeout: float, load_timeout: float,
                 backend: str | None) -> None:
        from krakend_tasks.engines import engine_for

        self.config, self.emit = config, emit
        self.krakend_bin, self.image = krakend_bin, image
        self.request_timeout, self.load_timeout = request_timeout, load_timeout
        self.backend = backend
        self.target = host_target(krakend_bin)
        self.settings = settings._replace(targets=(self.target,))
        self.names = [p.plugin_name() for p in self.settings.per_plugin()]
        data = read_config(config).data
        self.config_port = config_port(data, config)
        self.port = port or self.config_port
        holder = port_in_use(self.port)
        if holder:
            raise ConfigError(f"port {self.port} is in use by {holder}",
                              hint="stop it, or give the loop another port: --port N")
        self.engine = engine_for(self.settings, lambda line: None)  # made once: its Docker client is kept
        remove_stale(Path(tempfile.gettempdir()), r"krakend-tasks-dev-(\d+)-\w+")  # a SIGKILLed loop's copies
        self.current: Generation | None = None
        self.specs: list[Spec] = []

    def build(self) -> bool:
        started = time.monotonic()
        lines: list[str] = []
        try:
            for plugin in self.settings.per_plugin():
                build(plugin, self.engine, log=lines.append)
        except KrakendTasksError as exc:
            said = [line for line in lines if COMPILER.match(line)] or lines[-12:]
            self.emit(Event("build", False, exc.message, tuple(said), time.monotonic() - started))
            return False
        self.emit(Event("build", True, f"built {', '.join(self.names)} for {self.target.name}",
                        seconds=time.monotonic() - started))
        return True

    def restart(self, config_changed: bool) -> bool:
        """A new KrakenD on the new build or config; the old one serving until the new one is healthy.
        A change of the config alone keeps the plugins that serve (dist/ may hold a refused build by then)."""
        started = time.monotonic()
        try:
            data = read_config(self.config).data
            plugin_block(data, self.config, self.names)
            files = (self.current.plugins() if config_changed and self.current
                     else plugin_files(self.settings, self.target))
            self.specs = declared_specs(self.settings, config_port(data, self.config),
                                        lambda w: self.emit(Event("config", True, w)))
        except KrakendTasksError as exc:
            self.emit(Event("config", False, exc.message))
            return False
        new = Generation(self.settings, self.config, data, files, self.port, self.backend, self.krakend_bin,
                         self.image, self.target)
        if config_changed or not self.current:  # KrakenD's own schema, before it runs
            verdict = lint(new.staged.config, Krakend(self.krakend_bin, self.image, self.settings.pull),
                           str(self.config))
            if not verdict.ok:
                new.close()
                serving = "the running KrakenD keeps serving" if self.current else "fix it and save: nothing runs yet"
                self.emit(Event("config", False, f"KrakenD refuses the config (krakend check -n -c); {serving}",
                                verdict.said[-6:]))
                return False
        old = self.current
        if old:
            old.stop()
        problems = new.start(self.load_timeout)
        if problems:
            new.close()
            message = "the new KrakenD did not become healthy"
            if old:
                old.start(self.load_timeout)
                message += "; the previous one serves again"
            self.emit(Event("krakend", False, message, tuple(problems)))
            return False
        if old:
            old.close()
        self.current = new
        self.emit(Event("krakend", True, f"KrakenD ({new.running.what if new.running else ''}) serves on port "
                        f"{self.port}", seconds=time.monotonic() - started))
        return True

    def run_checks(self) -> None:
        if not self.current or not self.specs:
            return
        verdicts = [check(spec, self.port, timeout=self.request_timeout) for spec in self.specs]
        failed = [f"{v.spec.name}: {v.problems[0]}" for v in verdicts if not v.ok]
        passed = len(verdicts) - len(failed)
        self.emit(Event("checks", not failed, f"{passed} passed, {len(failed)} failed", tuple(failed)))
        lines = self.current.plugin_lines(self.names)
        if lines:
            self.emit(Event("log", True, "the plugin's log lines", tuple(lines)))
        self.still_serving()

    def still_serving(self) -> None:
        """KrakenD exited while the specs ran (a plugin that exits, or crashes it, on a request): said,
        with its last lines; the loop goes on, and the next save starts a new one."""
        running = self.current.running if self.current else None
        status = running.exit_status() if running else None
        if status is None or not self.current:
            return
        time.sleep(0.1)  # its last lines
        lines = as_users(self.current.running.lines if self.current.running else [], self.current.staged.config,
                         self.config)
        self.emit(Event("krakend", False, f"KrakenD exited with status {status} while the specs ran (a plugin that "
                        "exits or crashes it on a request); the next save starts it again", tuple(lines[-8:])))
        self.current.close()
        self.current = None

    def close(self) -> None:
        if self.current:
            self.current.close()
            self.current = None


def dev(project: Path, config: Path, emit: Emit, *, settings: dict[str, Any], krakend_bin: str | None = None,
        image: str | None = None, port: int | None = None, debounce: int = DEBOUNCE_MS, keep_backends: bool = False,
        request_timeout: float = REQUEST_TIMEOUT, load_timeout: float = READY_TIMEOUT,
        stop: threading.Event | None = None) -> int:
    """Run the loop until Ctrl-C, SIGTERM or SIGHUP (or `stop` is set); 0."""
    import watchfiles

    project = project.resolve()
    loaded = load_settings(project, **settings).one_release("dev")
    with echo_backend(keep_backends) as backend:
        loop = Loop(loaded, config, emit, krakend_bin=krakend_bin, image=image, port=port,
                    keep_backends=keep_backends, request_timeout=request_timeout, load_timeout=load_timeout,
                    backend=backend)
        stopped = Event("stop", True, "stopped")
        try:
            emit(Event("start", True, f"watching {project} (target {loop.target.name}, port {loop.port})"))
            # watching from before the first build: what is saved during it is built again after it
            changes_seen = watchfiles.watch(project, watch_filter=_Watched(project, loaded, config), debounce=debounce,
                                            step=20, stop_event=stop, raise_interrupt=True, yield_on_timeout=True,
                                            rust_timeout=500)
            first = True
            for changes in changes_seen:
                if not project.is_dir():
                    raise ProjectGone(f"the project folder {project} is gone: the loop stops",
                                      hint="restore it (or clone it again) and start the loop again")
                if first:
                    first = False
                    if loop.build() and loop.restart(config_changed=True):
                        loop.run_checks()
                loop.still_serving()  # every tick (rust_timeout): a KrakenD that died after its checks is said
                kind = _kind({Path(path) for _, path in changes}, project, loaded, config)
                if kind is None:
                    continue
                emit(Event("change", True, f"{kind} changed", tuple(sorted({p for _, p in changes}))[:20]))
                if kind == "specs" and loop.current:
                    loop.specs = declared_specs(loop.settings, loop.config_port)
                    loop.run_checks()
                elif (kind == "config" or loop.build()) and loop.restart(config_changed=kind == "config"):
                    loop.run_checks()
        except KeyboardInterrupt:
            pass
        except ProjectGone as exc:
            stopped = Event("stop", False, exc.message)
            raise
        finally:
            loop.close()
            emit(stopped)
    return 0


# editors' and tools' temporary files, besides watchfiles' defaults: sed -i's sedXXXXXX, vim's 4913
# probe, JetBrains' safe-write files, Emacs' lock and autosave files
TEMPORARY = re.compile(r"^sed[A-Za-z0-9]{6}$|^4913$|___jb_(?:tmp|old|bak)___$|^\.#|^#.*#$|\.sw[a-p]$|~$")


class _Watched:
    """watchfiles' filter: its defaults (.git, __pycache__, editors' swap files), editors' other temporary
    files (TEMPORARY), dist/ and what git ignores."""

    def __init__(self, project: Path, settings: Settings, config: Path) -> None:
        from watchfiles import DefaultFilter

        self.default = DefaultFilter()
        self.dist = settings.dist_dir.resolve()
        self.project = project.resolve()
        self.ignored = _git_ignored(self.project)

    def __call__(self, change: Change, path: str) -> bool:
        if TEMPORARY.search(os.path.basename(path)) or not self.default(change, path):
            return False
        try:
            p = Path(path).resolve()
        except (OSError, RuntimeError):  # a link loop: not a source
            return False
        return not p.is_relative_to(self.dist) and not self.ignored(p)


def _git_ignored(project: Path) -> Callable[[Path], bool]:
    """Whether git ignores a path of the project (its .gitignore files); nothing when not a git work tree."""
    import krakend_tasks.engines.process as process

    if not shutil.which("git"):
        return lambda path: False
    memo: dict[Path, bool] = {}

    def ignored(path: Path) -> bool:
        if path not in memo:
            try:
                done = process.run(["git", "-C", str(project), "check-ignore", "-q", "--", str(path)], timeout=10)
                memo[path] = done.status == 0
            except (OSError, process.ProcessTimedOut):
                memo[path] = False
            if len(memo) > 10_000:  # a file storm: memory stays flat
                memo.clear()
        return memo.get(path, False)

    return ignored


def _kind(paths: set[Path], project: Path, settings: Settings, config: Path) -> str | None:
    """What a batch of changes touched: the sources (a rebuild), the config, or the specs only."""
    config = config.resolve()
    specs = (settings.project / settings.smoke_specs).resolve() if settings.smoke_specs else None
    resolved = {p.resolve() for p in paths}
    if not resolved:
        return None
    if all(p == config for p in resolved):
        return "config"
    if specs and all(p.is_relative_to(specs) for p in resolved):
        return "specs"
    if all(p == config or (specs and p.is_relative_to(specs)) for p in resolved):
        return "config"
    return "sources"
