"""How right `krakend-tasks bench` is: docs/benchmarks.md's bench table.

Against costs known in advance, with the real KrakenD CE 2.13.8 of .ci/krakend.sh (amd64 glibc):
- accuracy: the scaffolded modifier made to sleep 2 ms per request: its p50 overhead should be
  2 ms +- 0.3 ms;
- resolution: the same modifier made to burn 200 us of CPU per request, against the scaffolded
  (no-op) one: their p50 overhead intervals should not overlap;
- noise: the plugin-free config against itself (`--config X --baseline X`): a p50 overhead within
  2% of the baseline's p50, and an interval that holds 0;
- time: each default run (no --rounds, --duration or --rate: the probe chooses the rate) under 90 s.

Each run is `krakend-tasks bench --krakend-bin K --json` as a user types it; the figures are its own.
Usage:
    python bench/plugin_cost_bench.py [--krakend K] [--repeat 1] [--bench-args '--rate 600']
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VERSION = "2.13.8"
SLEEP = ('"net/url"\n', '"net/url"\n\t"time"\n', "\t\treq.Headers()[header]",
         "\t\ttime.Sleep(2 * time.Millisecond)\n\t\treq.Headers()[header]")
BURN = ('"net/url"\n', '"net/url"\n\t"time"\n', "\t\treq.Headers()[header]",
        "\t\tfor start := time.Now(); time.Since(start) < 200*time.Microsecond; {\n\t\t}\n\t\treq.Headers()[header]")


def krakend_default() -> str:
    from tests.conftest import krakend_dir

    folder = krakend_dir()
    if not folder:
        raise SystemExit("no KrakenD: run `eval \"$(bash .ci/krakend.sh)\"` or pass --krakend")
    return str(folder / "krakend-amd64-generic")


def project(where: Path, name: str, change: tuple[str, ...] | None) -> Path:
    from krakend_tasks.core.building.build import build
    from krakend_tasks.core.krakend.releases import resolve
    from krakend_tasks.core.project.settings import load_settings
    from krakend_tasks.core.workflows.scaffold import new
    from krakend_tasks.engines import engine_for

    folder = where / name
    new(folder, "modifier", release=resolve(VERSION))
    if change:
        main = folder / "main.go"
        text = main.read_text().replace(change[0], change[1]).replace(change[2], change[3])
        main.write_text(text)
    settings = load_settings(folder, engine="local", targets="amd64-generic", version=VERSION)
    build(settings, engine_for(settings))
    return folder


def bench(folder: Path, krakend: str, *args: str) -> tuple[dict, float]:
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "krakend_tasks", "bench", "--krakend-bin", krakend, "--json", *args],
                         cwd=folder, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    took = time.monotonic() - started
    if out.returncode not in (0, 1):
        raise SystemExit(f"bench failed ({out.returncode}):\n{out.stderr}")
    return json.loads(out.stdout), took


def line(name: str, report: dict, took: float) -> str:
    o, base = report["overhead"], report["arms"]["baseline"]
    low, high = o["p50_ms_interval"]
    return (f"{name:<10} rate {report['rate']:>5}/s  rounds {report['rounds']} (+{len(report['thrown_out'])} thrown)  "
            f"baseline p50 {base['p50_ms']:.3f} ms  p50 overhead {o['p50_ms']:+.3f} ms [{low:+.3f}, {high:+.3f}]  "
            f"p99 overhead {o['p99_ms']:+.3f} ms  run {took:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--krakend", default=None)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--bench-args", default="", help="more options of bench for every run, e.g. '--rate 600'")
    args = parser.parse_args()
    extra = args.bench_args.split()
    krakend = args.krakend or krakend_default()
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        plugins = {"noop": project(where, "noop", None), "sleep-2ms": project(where, "sleep", SLEEP),
                   "cpu-200us": project(where, "burn", BURN)}
        config = json.loads((plugins["noop"] / "krakend.json").read_text())
        for endpoint in config["endpoints"]:
            endpoint.pop("extra_config", None)
        config.pop("plugin", None)
        plain = where / "plain.json"
        plain.write_text(json.dumps(config))
        for _ in range(args.repeat):
            results = {name: bench(folder, krakend, *extra) for name, folder in plugins.items()}
            results["A/A"] = bench(plugins["noop"], krakend, "--config", str(plain), "--baseline", str(plain), *extra)
            for name, (report, took) in results.items():
                print(line(name, report, took))
            sleep = results["sleep-2ms"][0]["overhead"]["p50_ms"]
            noop, burn = results["noop"][0]["overhead"], results["cpu-200us"][0]["overhead"]
            aa = results["A/A"][0]
            aa_low, aa_high = aa["overhead"]["p50_ms_interval"]
            print(f"accuracy:   sleep 2 ms reported as {sleep:+.3f} ms of p50 overhead (goal 2 +- 0.3)")
            print(f"resolution: cpu 200 us p50 interval {burn['p50_ms_interval']} vs no-op {noop['p50_ms_interval']}: "
                  f"{'apart' if burn['p50_ms_interval'][0] > noop['p50_ms_interval'][1] else 'OVERLAP'}")
            share = abs(aa["overhead"]["p50_ms"]) / aa["arms"]["baseline"]["p50_ms"]
            print(f"noise:      A/A p50 overhead {share:.1%} of the baseline's p50 (goal <= 2%), interval "
                  f"[{aa_low:+.3f}, {aa_high:+.3f}] {'holds' if aa_low <= 0 <= aa_high else 'DOES NOT HOLD'} 0")
            print(f"time:       slowest default run {max(took for _, took in results.values()):.1f} s (goal < 90 s)")


if __name__ == "__main__":
    main()
