"""bench: what the project's plugins cost in the gateway, the same KrakenD with and without them.

Two arms run side by side on the gateway (core/serving/gateway), started once each and kept: **plugin**,
the project's config with its built plugins, and **baseline**, the same config with this project's
plugins taken out (or a config of the user's). Both get the same KrakenD, the same loopback backend
(served by the Go driver, so that it is never the bottleneck), the same requests and the access log
off. The load is vegeta's constant rate (an open model: a slow gateway queues, and the queueing
shows), driven by a small Go program built once and cached (data/go/bench). After a warm-up that is
thrown away, rounds alternate the arms (ABBA); every latency is kept, each round's figures are
paired, and the overhead of each figure (plugin minus baseline) comes with a 95% interval over the
paired rounds. A round whose generator fell behind its schedule is thrown out and said so.
"""

from __future__ import annotations

import json
import math
import os
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import krakend_tasks.engines.process as process
from krakend_tasks import logs
from krakend_tasks.core.files import cache_dir, locked, sha256
from krakend_tasks.core.golang.elf import read_elf
from krakend_tasks.core.krakend.config import read_config, used_plugins, without_plugins
from krakend_tasks.core.krakend.runner import Running, serve
from krakend_tasks.core.project.settings import Settings
from krakend_tasks.core.serving.gateway import (
    READY_TIMEOUT,
    as_users,
    config_port,
    free_port,
    host_target,
    plugin_block,
    plugin_files,
    stage,
    staged_folder,
    unregistered,
    wait_ready,
)
from krakend_tasks.core.serving.specs import Spec, declared_specs, exchange
from krakend_tasks.core.targets import Target
from krakend_tasks.core.verifying.testload import provided_plugins
from krakend_tasks.data import DATA
from krakend_tasks.errors import BuildFailed, ConfigError, GatewayFailed, LoadNotHeld, require_go

ROUNDS = 6  # paired rounds (each arm once per round, in ABBA order)
DURATION = 3.0  # seconds of load per arm and round
WARMUP = 2.0  # seconds per arm, thrown away (no longer than a round)
PROBE = 1.0  # seconds of the capacity probe
SHARE = 0.3  # of the baseline's capacity flat out: the default rate, below where queueing starts
MAX_RATE = 2000  # requests per second
LATE = 0.002  # seconds: a request that left later than this behind its schedule is late
LATE_SHARE = 0.05  # a round with more late requests than this: the generator fell behind
FIGURES = ("p50_ms", "p90_ms", "p99_ms", "max_ms", "rps", "cpu_us_per_request", "rss_mb")
CHECKED = ("p50_ms", "p99_ms")  # what a budget is held against
ARMS = ("baseline", "plugin")
# two-sided 95% quantiles of Student's t, by degrees of freedom (1..30); above: the normal's
T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
       2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


class Budget(NamedTuple):
    """`--max-overhead`: an absolute time (ms) or a share of the baseline's figure (percent)."""

    value: float
    relative: bool  # True: percent of the baseline's figure
    text: str

    def limit(self, baseline: float) -> float:
        """The budget in ms for a figure whose baseline is `baseline` ms."""
        return baseline * self.value / 100 if self.relative else self.value


UNITS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1000.0}


def parse_budget(text: str) -> Budget:
    """`1ms`, `250us`, `0.5 ms`, `5%`; a ConfigError names what is wrong otherwise."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s|%)\s*", text)
    if not match or not math.isfinite(float(match.group(1))):
        raise ConfigError(f"--max-overhead {text!r}: not a time (ns, us, ms, s) or a percentage",
                          hint="e.g. --max-overhead 1ms, --max-overhead 250us or --max-overhead 5%")
    number, unit = float(match.group(1)), match.group(2)
    if unit == "%":
        return Budget(number, True, text.strip())
    return Budget(number * UNITS[unit], False, text.strip())


class Round(NamedTuple):
    """One arm's attack in one round: every request's latency, and what KrakenD spent on them."""

    arm: str
    number: int  # the round's (-1: the warm-up)
    latencies_ms: tuple[float, ...]  # in the order sent
    late_share: float  # of the requests, those that left more than LATE behind their schedule
    rps: float  # answers per second over the attack's wall time
    codes: dict[str, int]  # status -> count; "0": no answer
    errors: dict[str, int]  # no answer (its reason) or 5xx (its status) -> count
    cpu_us_per_request: float | None  # KrakenD's user + system time per request; None: unknown
    rss_mb: float | None  # KrakenD's resident memory at the round's end

    @property
    def behind(self) -> bool:
        return self.late_share > LATE_SHARE

    def figures(self) -> dict[str, float | None]:
        ordered = sorted(self.latencies_ms)
        return {"p50_ms": percentile(ordered, 50), "p90_ms": percentile(ordered, 90),
                "p99_ms": percentile(ordered, 99), "max_ms": ordered[-1] if ordered else None, "rps": self.rps,
                "cpu_us_per_request": self.cpu_us_per_request, "rss_mb": self.rss_mb}


class Interval(NamedTuple):
    value: float
    low: float
    high: float


class BenchReport(NamedTuple):
    krakend: str  # what ran: "binary ...", "image ..."
    target: Target
    plugins: list[str]
    baseline: str  # "the config without the project's plugins", or the --baseline file
    rate: int  # requests per second, each arm
    duration: float
    requests: list[str]  # "GET /x", as sent (round-robin)
    left_out: list[str]  # requests not sent, each with why
    rounds: list[Round]  # kept rounds, both arms
    thrown_out: list[str]  # rounds thrown out, each with why
    arms: dict[str, dict[str, Any]]  # arm -> figures over all its kept rounds, errors included
    overhead: dict[str, Interval]  # figure -> plugin minus baseline, from the paired rounds
    budget: Budget | None = None
    verdict: str | None = None  # pass | fail | inconclusive; None without a budget and no fault
    reasons: tuple[str, ...] = ()  # why the verdict is what it is

    def samples(self, arm: str) -> list[float]:
        return [ms for r in self.rounds if r.arm == arm for ms in r.latencies_ms]


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """The nearest-rank percentile of sorted values (every sample kept: nothing approximated)."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def paired(differences: Sequence[float]) -> Interval:
    """The mean of paired differences and its 95% interval (Student's t)."""
    mean = statistics.fmean(differences)
    freedom = len(differences) - 1
    if freedom < 1:
        return Interval(mean, -math.inf, math.inf)
    t = T95[freedom - 1] if freedom <= len(T95) else 1.96
    half = t * statistics.stdev(differences) / math.sqrt(len(differences))
    return Interval(mean, mean - half, mean + half)


def judge(arms: dict[str, dict[str, Any]], overhead: dict[str, Interval],
          budget: Budget | None) -> tuple[str | None, tuple[str, ...]]:
    """pass: every checked figure's interval lies under the budget; fail: one lies above it, or the
    arms' error rates differ (errors are never speed); inconclusive: otherwise."""
    base, plug = arms["baseline"], arms["plugin"]
    if different_errors(base, plug):
        return "fail", (f"the arms' error rates differ: baseline {base['error_rate']:.2%}, plugin "
                        f"{plug['error_rate']:.2%} ({describe_errors(plug['errors']) or 'none'})",)
    if budget is None:
        return None, ()
    reasons, verdicts = [], []
    for figure in CHECKED:
        limit = budget.limit(base[figure])
        o = overhead[figure]
        said = f"{figure.removesuffix('_ms')} overhead {o.value:+.3f} ms, 95% in [{o.low:+.3f}, {o.high:+.3f}] " \
               f"against {limit:.3f} ms ({budget.text})"
        if o.high <= limit:
            verdicts.append("pass")
        elif o.low > limit:
            verdicts.append("fail")
        else:
            verdicts.append("inconclusive")
        reasons.append(f"{verdicts[-1]}: {said}")
    verdict = "fail" if "fail" in verdicts else "inconclusive" if "inconclusive" in verdicts else "pass"
    return verdict, tuple(reasons)


def different_errors(base: dict[str, Any], plug: dict[str, Any]) -> bool:
    a, b = base["error_rate"], plug["error_rate"]
    return bool((a == 0) != (b == 0) or abs(a - b) > 0.001)


def describe_errors(errors: dict[str, int]) -> str:
    return ", ".join(f"{n} x {what}" for what, n in sorted(errors.items(), key=lambda kv: -kv[1]))


# The Go driver -----------------------------------------------------------------------------------

def driver() -> Path:
    """The load driver (data/go/bench), built with this host's Go once and kept by its sources' digest."""
    require_go("to build the load driver of bench (vegeta's library)")
    sources = {name: DATA.joinpath(f"go/bench/{name}").read_bytes() for name in ("main.go", "go.mod", "go.sum")}
    digest = sha256_of(b"\0".join(sources[n] for n in sorted(sources)))[:16]
    work = cache_dir() / "bench" / digest
    binary, stamp = work / "bench", work / "bench.sha256"
    with locked(work.with_suffix(".lock")):
        try:
            if stamp.read_text() == sha256(binary):
                return binary
        except OSError:
            pass
        work.mkdir(parents=True, exist_ok=True)
        for name, data in sources.items():
            (work / name).write_bytes(data)
        env = {**os.environ, "GOFLAGS": "-mod=readonly -buildvcs=false", "CGO_ENABLED": "0"}
        done = process.run(["go", "build", "-o", "bench.partial", "."], cwd=work, env=env)
        if done.status != 0:
            raise BuildFailed(f"could not build bench's load driver:\n{done.output}",
                              hint="it needs Go 1.22 or newer and the Go module proxy (or GOPROXY/GOFLAGS=-mod=mod "
                                   "with a module cache that holds github.com/tsenart/vegeta/v12)")
        os.replace(work / "bench.partial", binary)
        stamp.write_text(sha256(binary))
    return binary


def sha256_of(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


@contextmanager
def go_backend(program: Path) -> Iterator[str]:
    """The driver's loopback backend while the block runs: its URL (it picks its own port: no race)."""
    with process.started([program, "backend"]) as child:
        deadline = time.monotonic() + 10
        while not child.lines:
            if child.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.005)
        said = child.lines[0] if child.lines else ""
        if not said.isdigit():
            raise GatewayFailed(f"bench's loopback backend did not start: {said or 'it said nothing'}",
                                hint="a machine out of ports says `address already in use` for port 0: wait a "
                                     "minute for closed connections to go (ss -s counts them), then run again")
        yield f"http://127.0.0.1:{said}"


def attack(program: Path, targets: list[dict[str, Any]], rate: int, seconds: float, timeout: float,
           folder: Path) -> dict[str, Any]:
    """One attack of the driver: its JSON result (every latency, lateness, status)."""
    job = folder / "job.json"
    job.write_text(json.dumps({"targets": targets, "rate": rate, "duration_ms": int(seconds * 1000),
                               "timeout_ms": int(timeout * 1000), "workers": 8}))
    done = process.run([program, "attack", job], timeout=seconds + timeout + 30)
    found = [line for line in done.output.splitlines() if line.startswith("{")]
    if done.status != 0 or not found:
        raise GatewayFailed(f"bench's load driver failed (status {done.status}): {done.output.strip()[-400:]}",
                            hint="run it again; if it persists, report it")
    result: dict[str, Any] = json.loads(found[-1])
    return result


# KrakenD's side ----------------------------------------------------------------------------------

def usage(pid: int | None) -> tuple[float | None, float | None]:
    """A process's CPU time (user + system, seconds) and resident memory (MB), from /proc."""
    if not pid:
        return None, None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        rss = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                   if line.startswith("VmRSS:")) / 1024
        return cpu, rss
    except (OSError, ValueError, IndexError, StopIteration):
        return None, None


def quiet(data: dict[str, Any]) -> dict[str, Any]:
    """The config with KrakenD's access log off (router.disable_access_log), in both arms alike."""
    out = dict(data)
    extra = dict(out.get("extra_config") or {})
    extra["router"] = dict(extra.get("router") or {}, disable_access_log=True)
    out["extra_config"] = extra
    return out


class Arm(NamedTuple):
    name: str
    running: Running
    port: int
    staged: Path
    config: Path  # the user's file it stands for


def start_arm(stack: ExitStack, name: str, data: dict[str, Any], config: Path, files: dict[str, Path],
              backend: str, target: Target, settings: Settings, krakend_bin: str | None, image: str | None,
              ready_timeout: float) -> Arm:
    """One arm's KrakenD, started and answering /__health (kept until `stack` closes)."""
    folder = stack.enter_context(staged_folder())
    port = free_port()
    staged = stage(folder, quiet(data), files, port, in_image=not krakend_bin, backend=backend)
    running = stack.enter_context(serve(staged.config, krakend_bin=krakend_bin, image=image, mounts=staged.mounts,
                                        pull=settings.pull, platform=f"linux/{target.arch.value}"))
    problems: list[str] = []
    if not wait_ready(running, port, problems, staged.config, config, ready_timeout):
        raise GatewayFailed(f"{name} arm: {'; '.join(problems)}", hint=_log_hint(running, staged.config, config))
    return Arm(name, running, port, staged.config, config)


def _log_hint(running: Running, staged: Path, config: Path) -> str:
    said = as_users(running.lines, staged, config)[-8:]
    return "KrakenD's last lines:\n  " + "\n  ".join(said) if said else "KrakenD said nothing"


def alive(arm: Arm) -> None:
    """GatewayFailed, with KrakenD's last lines, when the arm's KrakenD is no longer running."""
    status = arm.running.exit_status()
    if status is not None:
        time.sleep(0.1)
        raise GatewayFailed(f"KrakenD of the {arm.name} arm exited with status {status} under load",
                            hint=_log_hint(arm.running, arm.staged, arm.config))


def as_target(spec: Spec, port: int) -> dict[str, Any]:
    """A spec as a vegeta target on this arm's loopback port (its path and query kept)."""
    from urllib.parse import urlsplit

    parts = urlsplit(spec.url)
    path = parts.path or "/"
    header: dict[str, list[str]] = {}
    for name, value in spec.headers:
        header.setdefault(name, []).append(value)
    target: dict[str, Any] = {"method": spec.method, "url": f"http://127.0.0.1:{port}{path}"
                              + (f"?{parts.query}" if parts.query else ""), "header": header}
    if spec.body:
        import base64

        target["body"] = base64.b64encode(spec.body).decode()
    return target


def endpoint_specs(data: dict[str, Any], port: int) -> list[Spec]:
    """The config's GET endpoints without parameters, as requests."""
    found = []
    for endpoint in data.get("endpoints") or []:
        if not isinstance(endpoint, dict):
            continue
        path, method = endpoint.get("endpoint"), str(endpoint.get("method") or "GET").upper()
        if isinstance(path, str) and path.startswith("/") and "{" not in path and method == "GET":
            found.append(Spec(f"endpoint {path}", "the config's endpoints", "GET", f"http://localhost:{port}{path}"))
    return found


def chosen_requests(candidates: list[Spec], arms: dict[str, Arm],
                    timeout: float) -> tuple[list[Spec], list[str], list[str]]:
    """The requests both arms answer with one status, or that only the plugin arm fails (its errors
    count); the others with why they were left out; and what was said of the failing ones."""
    kept: list[Spec] = []
    reasons: list[str] = []
    failing: list[str] = []
    seen = set()
    for spec in candidates:
        if spec.request in seen:
            continue
        seen.add(spec.request)
        answers = {name: exchange(spec, arm.port, timeout=timeout, follow_redirects=False)
                   for name, arm in arms.items()}
        statuses = {name: a.status for name, a in answers.items()}
        plugin, baseline = statuses["plugin"], statuses["baseline"]
        if baseline is not None and baseline < 500 and (plugin is None or plugin >= 500):
            said = answers["plugin"].error or answers["plugin"].problem or f"status {plugin}"
            failing.append(f"{spec.request}: the plugin arm fails it ({said}), the baseline answers {baseline}: "
                           "measured, and its errors count")
            kept.append(spec)  # the plugin's failure, not another route: the error rates decide
        elif None in statuses.values():
            why = "; ".join(f"{n}: {a.problem or a.error}" for n, a in answers.items() if a.status is None)
            reasons.append(f"{spec.request}: no answer ({why})")
        elif statuses["plugin"] != statuses["baseline"]:
            reasons.append(f"{spec.request}: the plugin arm answers {statuses['plugin']}, the baseline "
                           f"{statuses['baseline']}: only one arm serves it")
        else:
            kept.append(spec)
    return kept, reasons, failing


def measured(program: Path, arm: Arm, targets: list[dict[str, Any]], rate: int, seconds: float, timeout: float,
             folder: Path, index: int) -> Round:
    """One attack on one arm, with KrakenD's CPU time and memory around it."""
    alive(arm)
    pid = arm.running.pid()
    cpu_before, _ = usage(pid)
    result = attack(program, targets, rate, seconds, timeout, folder)
    cpu_after, rss = usage(pid)
    alive(arm)
    sent = int(result["sent"]) or 1
    codes = {str(k): int(v) for k, v in (result.get("codes") or {}).items()}
    errors = {f"status {code}": n for code, n in codes.items() if code.isdigit() and int(code) >= 500}
    errors |= {str(k): int(v) for k, v in (result.get("errors") or {}).items()}
    if "0" in codes and not result.get("errors"):
        errors["no answer"] = codes["0"]
    lateness = result.get("lateness_ns") or []
    late = sum(1 for ns in lateness if ns > LATE * 1e9) / max(1, len(lateness))
    cpu = (cpu_after - cpu_before) / sent * 1e6 if cpu_before is not None and cpu_after is not None else None
    latencies = tuple(ns / 1e6 for ns in result.get("latencies_ns") or [])
    return Round(arm.name, index, latencies, late, sent / (int(result["wall_ns"]) / 1e9), codes, errors, cpu, rss)


def probe(program: Path, arm: Arm, targets: list[dict[str, Any]], timeout: float, folder: Path) -> float:
    """The requests per second the arm answers flat out (8 workers, no pacing)."""
    result = attack(program, targets, 0, PROBE, timeout, folder)
    return float(result["sent"]) / (int(result["wall_ns"]) / 1e9)


def bench(settings: Settings, config: Path, *, krakend_bin: str | None = None, image: str | None = None,
          baseline: Path | None = None, paths: Sequence[str] = (), rate: int | None = None, rounds: int = ROUNDS,
          duration: float = DURATION, warmup: float = WARMUP, budget: Budget | None = None,
          request_timeout: float = 10.0, ready_timeout: float = READY_TIMEOUT,
          log: Callable[[str], None] = lambda _: None) -> BenchReport:
    """Run both arms and measure them; KrakenD, the backend and the driver always stopped."""
    if rounds < 1:
        raise ConfigError(f"--rounds {rounds}: at least one round is needed (two or more for an interval)",
                          hint=f"e.g. --rounds {ROUNDS}")
    if rate is not None and not 0 < rate <= 100_000:
        raise ConfigError(f"--rate {rate}: not a number of requests per second in [1, 100000]",
                          hint="e.g. --rate 200, or leave it out to probe")
    target = host_target(krakend_bin)
    names = [plugin.plugin_name() for plugin in settings.per_plugin()]
    files = plugin_files(settings, target)
    data = read_config(config).data
    uses = any(used_plugins(data).values())
    if uses:
        plugin_block(data, config, names)
    else:  # the A/A run (--baseline the same file) measures the noise: allowed, and said
        log(logs.warning(f"{config} uses no plugin: the plugin arm runs without plugins too"))
    if baseline is not None:
        base_data, base_said = read_config(baseline).data, str(baseline)
    else:
        log(logs.progress("reading the names the plugins register"))
        base_data = without_plugins(data, provided_plugins(list(files.values()), settings))
        base_said = "the config without the project's plugins"
    candidates = [Spec(f"path {p}", "--path", "GET", f"http://localhost/{p.lstrip('/')}") for p in paths] or [
        *declared_specs(settings, config_port(data, config), log), *endpoint_specs(data, config_port(data, config))]
    if not candidates:
        raise ConfigError(f"nothing to send: no [[smoke]] request, no spec and no GET endpoint in {config}",
                          hint="name a path: --path /your/endpoint")
    program = driver()
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="krakend-tasks-bench-")))
        backend = stack.enter_context(go_backend(program))
        log(logs.progress(f"starting KrakenD twice ({krakend_bin or image}): plugin and baseline"))
        arms = {"plugin": start_arm(stack, "plugin", data, config, files, backend, target, settings, krakend_bin,
                                    image, ready_timeout),
                "baseline": start_arm(stack, "baseline", base_data, baseline or config, files, backend, target,
                                      settings, krakend_bin, image, ready_timeout)}
        time.sleep(0.05)  # the plugin loaders' last lines
        kinds = {name: read_elf(path).plugin_types for name, path in files.items()}
        refused = unregistered(kinds, as_users(arms["plugin"].running.lines, arms["plugin"].staged, config)) \
            if uses else []
        if refused:
            raise GatewayFailed("; ".join(refused), hint=_log_hint(arms["plugin"].running, arms["plugin"].staged,
                                                                   config))
        requests, left_out, failing = chosen_requests(candidates, arms, request_timeout)
        for arm in arms.values():  # a plugin that ends KrakenD on its first request: said as such
            alive(arm)
        for why in left_out:
            log(logs.warning(f"left out: {why}"))
        for why in failing:
            log(logs.warning(why))
        if not requests:
            raise ConfigError("no request is answered alike by both arms: " + "; ".join(left_out),
                              hint="name a path both configs serve: --path /your/endpoint")
        targets = {name: [as_target(s, arm.port) for s in requests] for name, arm in arms.items()}
        if rate is None:
            capacity = probe(program, arms["baseline"], targets["baseline"], request_timeout, folder)
            rate = max(1, min(MAX_RATE, int(capacity * SHARE)))
            log(logs.progress(f"the baseline answers about {capacity:.0f} requests/s flat out: load at {rate}/s"))
        for name in ARMS:  # the warm-up: thrown away
            measured(program, arms[name], targets[name], rate, min(warmup, duration), request_timeout, folder, -1)
        kept, thrown = run_rounds(program, arms, targets, rate, rounds, duration, request_timeout, folder, log)
    report = summarize(arms_of(kept), kept, thrown, report_head=BenchReport(
        arms["plugin"].running.what, target, names, base_said, rate, duration, [s.request for s in requests],
        left_out, kept, thrown, {}, {}, budget))
    if different_errors(report.arms["baseline"], report.arms["plugin"]):  # a panic's trace, a plugin's error
        said = [line for line in as_users(arms["plugin"].running.lines, arms["plugin"].staged, config)
                if any(word in line.lower() for word in ("panic", "error", "fatal", *names))]
        log(logs.warning("the plugin arm's errors, in KrakenD's last lines:\n  " + "\n  ".join(said[-8:]))
            if said else logs.warning("the plugin arm's errors: KrakenD's log says nothing of them"))
    return report


def run_rounds(program: Path, arms: dict[str, Arm], targets: dict[str, list[dict[str, Any]]], rate: int,
               rounds: int, duration: float, timeout: float, folder: Path,
               log: Callable[[str], None]) -> tuple[list[Round], list[str]]:
    """The paired rounds, arms in ABBA order: those kept, and why the others were thrown out;
    LoadNotHeld when the generator fell behind in every one."""
    kept: list[Round] = []
    thrown: list[str] = []
    held: list[float] = []  # the rates achieved in rounds thrown out
    for i in range(rounds):
        order = ARMS if i % 2 == 0 else ARMS[::-1]
        log(logs.progress(f"round {i + 1}/{rounds}: {' then '.join(order)} at {rate}/s for {duration:g} s"))
        pair = {name: measured(program, arms[name], targets[name], rate, duration, timeout, folder, i)
                for name in order}
        behind = [r for r in pair.values() if r.behind]
        if behind:
            held += [r.rps for r in behind]
            thrown.append(f"round {i + 1}: the load generator fell behind its schedule ("
                          + ", ".join(f"{r.arm}: {r.late_share:.0%} of requests over {LATE * 1000:g} ms late"
                                      for r in behind) + ")")
            log(logs.warning(f"thrown out: {thrown[-1]}"))
            continue
        kept += [pair[name] for name in ARMS]
    if not kept:
        raise LoadNotHeld(f"this machine cannot hold {rate} requests/s against KrakenD: the load generator fell "
                          f"behind in every round (it held about {statistics.median(held):.0f}/s)",
                          hint=f"lower the rate (--rate {max(1, rate // 2)}), or leave --rate out to probe")
    return kept, thrown


def arms_of(rounds: list[Round]) -> dict[str, dict[str, Any]]:
    """Each arm's figures over all its kept rounds (every latency pooled)."""
    out: dict[str, dict[str, Any]] = {}
    for name in ARMS:
        mine = [r for r in rounds if r.arm == name]
        ordered = sorted(ms for r in mine for ms in r.latencies_ms)
        sent = sum(sum(r.codes.values()) for r in mine)
        errors: dict[str, int] = {}
        for r in mine:
            for what, n in r.errors.items():
                errors[what] = errors.get(what, 0) + n
        cpu = [r.cpu_us_per_request for r in mine if r.cpu_us_per_request is not None]
        rss = [r.rss_mb for r in mine if r.rss_mb is not None]
        out[name] = {"p50_ms": percentile(ordered, 50), "p90_ms": percentile(ordered, 90),
                     "p99_ms": percentile(ordered, 99), "max_ms": ordered[-1] if ordered else None,
                     "rps": statistics.fmean(r.rps for r in mine) if mine else None, "requests": sent,
                     "errors": errors, "error_rate": sum(errors.values()) / sent if sent else 0.0,
                     "cpu_us_per_request": statistics.fmean(cpu) if cpu else None,
                     "rss_mb": max(rss) if rss else None}
    return out


def summarize(arms: dict[str, dict[str, Any]], rounds: list[Round], thrown: list[str],
              report_head: BenchReport) -> BenchReport:
    """The report: the arms, the paired overhead of each figure, the verdict."""
    by_round: dict[int, dict[str, Round]] = {}
    for r in rounds:
        by_round.setdefault(r.number, {})[r.arm] = r
    overhead: dict[str, Interval] = {}
    for figure in FIGURES:
        differences = []
        for pair in by_round.values():
            p, b = pair["plugin"].figures()[figure], pair["baseline"].figures()[figure]
            if p is not None and b is not None:
                differences.append(p - b)
        if differences:
            overhead[figure] = paired(differences)
    verdict, reasons = judge(arms, overhead, report_head.budget)
    return report_head._replace(arms=arms, overhead=overhead, verdict=verdict, reasons=reasons)
