"""The smoke run: the built plugins in the real KrakenD gateway, answering the declared requests.

KrakenD runs (core/serving/gateway) on a copy of the project's krakend.json in which only what
a run on this machine needs changes: a free port, the plugin folder (the plugins of one target,
named `<name>.so` as `ship` installs them) and, unless asked to keep them, every backend host,
which points at a small echo backend on loopback (it answers any request with JSON describing it:
method, path, query, headers, body). Once `/__health` answers, each spec (core/serving/specs: the
`[[smoke]]` requests, then the specs folder's KrakenD integration specs) is sent and judged as
KrakenD's harness judges it; with none declared, KrakenD's log must show each plugin loaded by its
type's loader and refused by none.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from krakend_tasks import logs
from krakend_tasks.core.golang.elf import read_elf
from krakend_tasks.core.krakend.config import read_config
from krakend_tasks.core.krakend.runner import serve
from krakend_tasks.core.project.settings import Settings
from krakend_tasks.core.serving.gateway import (
    READY_TIMEOUT,
    as_users,
    config_port,
    echo_backend,
    free_port,
    host_target,
    plugin_block,
    plugin_files,
    stage,
    staged_folder,
    unregistered,
    wait_ready,
)
from krakend_tasks.core.serving.specs import REQUEST_TIMEOUT, Spec, Verdict, check, declared_specs
from krakend_tasks.core.targets import Target

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


def _explained(report: SmokeReport, lines: list[str]) -> SmokeReport:
    telling = [line for line in lines if any(word in line.lower() for word in TELLING)
               or any(name in line for name in report.plugins)]
    return report._replace(log=tuple(telling[-40:] or lines[-20:]))
