"""Against the real KrakenD: our commands side by side with what they stand for, in one process.

Each pair runs alternately (ours, then the yardstick, N times), so both see the same machine state;
the figures are medians, the ratio is ours / the yardstick's, and `peak MB` is our process's maximum
resident memory. The yardsticks:

- `check --krakend-bin K`: `K check-plugin -s go.sum -l <its libc>` on the same go.sum (the example's);
- `inspect --krakend-bin K --path x.so`: `K test-plugin -s x.so` on the same plugin;
- `smoke --krakend-bin K` of the example (one request): a hand-written script doing the same work:
  start `K run -c` on the same staged config, poll `/__health`, one request, stop KrakenD.

K is the real KrakenD CE 2.13.8 of .ci/krakend.sh (amd64 glibc); the example plugin is built for
amd64-generic first. Usage: python bench/krakend_bench.py [--krakend K] [--runs 10]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HAND_SMOKE = r"""
set -e
"$1" run -c "$2" >/dev/null 2>&1 &
pid=$!
until curl -fs -o /dev/null "http://127.0.0.1:$3/__health"; do sleep 0.01; done
curl -fs "http://127.0.0.1:$3/__hello" | grep -q "hello from hello"
kill $pid; wait $pid || true
"""


def timed(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Seconds and peak resident MB of one run (it must succeed)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in (0,):
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
    return took, usage.ru_maxrss / 1024


def pair(name: str, ours: list[str], theirs: list[str], cwd: Path, runs: int) -> dict:
    timed(ours, cwd)  # a first run fills the caches, as any earlier run on the machine would have
    timed(theirs, cwd)
    a, b, peak = [], [], 0.0
    for _ in range(runs):
        took, mb = timed(ours, cwd)
        a.append(took)
        peak = max(peak, mb)
        b.append(timed(theirs, cwd)[0])
    row = {"what": name, "ours_ms": statistics.median(a) * 1000, "yardstick_ms": statistics.median(b) * 1000,
           "peak_mb": peak}
    row["ratio"] = row["ours_ms"] / row["yardstick_ms"]
    return row


def main() -> None:
    from tests.conftest import krakend_dir

    parser = argparse.ArgumentParser()
    parser.add_argument("--krakend", help="a KrakenD binary (default: .ci/krakend.sh's amd64-generic)")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    folder = krakend_dir()
    krakend = Path(args.krakend or (folder / "krakend-amd64-generic" if folder else ""))
    if not krakend.is_file():
        raise SystemExit("no KrakenD: pass --krakend, or run `eval \"$(bash .ci/krakend.sh)\"`")
    py = [sys.executable, "-m", "krakend_tasks"]
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "hello"
        shutil.copytree(ROOT / "examples" / "hello-plugin", project, ignore=shutil.ignore_patterns("dist*"))
        subprocess.run([*py, "build", "--engine", "local", "--target", "amd64-generic"], cwd=project, check=True,
                       capture_output=True)
        plugin = project / "dist" / "hello-2.13.8-amd64-generic.so"
        rows = [
            pair("check --krakend-bin", [*py, "check", "--krakend-bin", str(krakend), "--target", "amd64-generic"],
                 [str(krakend), "check-plugin", "-s", "go.sum", "-l", "GLIBC-2.36_(debian-12)"], project, args.runs),
            pair("inspect --krakend-bin --path", [*py, "inspect", "--krakend-bin", str(krakend), "--path", str(plugin)],
                 [str(krakend), "test-plugin", "-s", str(plugin)], project, args.runs),
        ]
        stage = Path(tmp) / "stage"
        (stage / "plugins").mkdir(parents=True)
        shutil.copy(plugin, stage / "plugins" / "hello.so")
        config = json.loads((project / "krakend.json").read_text())
        port = 18000 + os.getpid() % 1000
        config.update(port=port, plugin={"pattern": ".so", "folder": str(stage / "plugins") + "/"})
        (stage / "krakend.json").write_text(json.dumps(config))
        rows.append(pair("smoke --krakend-bin (1 request)", [*py, "smoke", "--krakend-bin", str(krakend)],
                         ["bash", "-c", HAND_SMOKE, "smoke", str(krakend), str(stage / "krakend.json"), str(port)],
                         project, args.runs))
    print(f"median of {args.runs} alternating runs; KrakenD: {krakend}")
    print(f"{'what':36} {'ours ms':>9} {'yardstick ms':>13} {'ratio':>6} {'peak MB':>8}")
    for r in rows:
        print(f"{r['what']:36} {r['ours_ms']:9.0f} {r['yardstick_ms']:13.0f} {r['ratio']:6.1f} {r['peak_mb']:8.0f}")


if __name__ == "__main__":
    main()
