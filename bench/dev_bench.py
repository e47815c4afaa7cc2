"""The development loop against a hand-written one: docs/benchmarks.md's dev table.

From the save of a one-line change (the server scaffold's answer) to the new answer served by
KrakenD on the port, alternating, N times each:

- ours: `krakend-tasks dev --krakend-bin K --engine local --json --port P` (default debounce),
  running all along; the clock starts at the write of main.go and stops when GET answers anew;
- the yardstick, a hand-written loop that does the same work with no watcher at all (it is told of
  the save at once): `go build -buildmode=plugin` of the change with the environment our local
  engine gives it (GOTOOLCHAIN, GOMODCACHE=/go/pkg/mod, CGO_ENABLED, CC) into the plugin folder,
  KrakenD stopped, `K run -c` of the same staged config started, GET polled until the new answer.

Then the memory of the loop (its resident set, from /proc) after the first rebuild and after the
last of `--rebuilds` more.

K is the real KrakenD CE 2.13.8 of .ci/krakend.sh (amd64 glibc). Usage:
    python bench/dev_bench.py [--krakend K] [--runs 10] [--rebuilds 200]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
GO = "1.25.12"
LINE = 'fmt.Fprintf(w, "hello from %s\\n", pluginName)'


def answer(port: int, path: str) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as got:
            return got.read().decode().strip()
    except OSError:
        return None


def until(port: int, path: str, want: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while answer(port, path) != want:
        if time.monotonic() > deadline:
            raise SystemExit(f"{path} never answered {want!r}")
        time.sleep(0.005)


def save(main: Path, text: str, n: int) -> str:
    main.write_text(text.replace(LINE, f'fmt.Fprintf(w, "hello {n}\\n")'))
    return f"hello {n}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Hand:
    """The hand-written loop: rebuild, restart KrakenD, poll."""

    def __init__(self, project: Path, krakend: Path, port: int, work: Path) -> None:
        self.project, self.krakend, self.port = project, krakend, port
        self.folder = work / "plugins"
        self.folder.mkdir(parents=True)
        config = json.loads((project / "krakend.json").read_text())
        config.update(port=port, plugin={"pattern": ".so", "folder": f"{self.folder}/"})
        self.config = work / "krakend.json"
        self.config.write_text(json.dumps(config))
        self.env = {**os.environ, "GOTOOLCHAIN": f"go{GO}", "GOMODCACHE": "/go/pkg/mod", "GOFLAGS": "-buildvcs=false",
                    "CGO_ENABLED": "1", "GOOS": "linux", "GOARCH": "amd64", "CC": "gcc"}
        self.proc: subprocess.Popen | None = None

    def cycle(self) -> None:
        subprocess.run(["go", "build", "-buildmode=plugin", "-o", str(self.folder / "bench.so"), "."],
                       cwd=self.project, env=self.env, check=True, capture_output=True)
        self.stop()
        self.proc = subprocess.Popen([str(self.krakend), "run", "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait()


def main() -> None:
    from krakend_tasks.core.krakend.releases import resolve
    from krakend_tasks.core.workflows.scaffold import new
    from tests.conftest import krakend_dir

    parser = argparse.ArgumentParser()
    parser.add_argument("--krakend", help="a KrakenD binary (default: .ci/krakend.sh's amd64-generic)")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--rebuilds", type=int, default=200, help="rebuilds before the second memory figure")
    args = parser.parse_args()
    folder = krakend_dir()
    krakend = Path(args.krakend or (folder / "krakend-amd64-generic" if folder else ""))
    if not krakend.is_file():
        raise SystemExit("no KrakenD: pass --krakend, or run `eval \"$(bash .ci/krakend.sh)\"`")
    with tempfile.TemporaryDirectory() as tmp:
        ours_project, hand_project = Path(tmp) / "bench", Path(tmp) / "hand" / "bench"
        new(ours_project, "server", release=resolve("2.13.8"))
        shutil.copytree(ours_project, hand_project)
        (ours_project / "specs").joinpath("server.json").unlink()  # the answer changes on every save
        (ours_project / "krakend-tasks.toml").write_text('version = "2.13.8"\n')
        ours_port, hand_port = free_port(), free_port()
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
        loop = subprocess.Popen([sys.executable, "-m", "krakend_tasks", "dev", "--krakend-bin", str(krakend),
                                 "--engine", "local", "--json", "--port", str(ours_port)], cwd=ours_project, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        events: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [events.put(json.loads(line)) for line in loop.stdout or []],
                         daemon=True).start()
        hand = Hand(hand_project, krakend, hand_port, Path(tmp) / "hand-stage")
        try:
            until(ours_port, "/__bench", "hello from bench")
            main_ours, main_hand = ours_project / "main.go", hand_project / "main.go"
            text = main_ours.read_text()
            hand.cycle()
            until(hand_port, "/__bench", "hello from bench")
            ours, theirs, ratios = [], [], []
            for n in range(args.runs + 1):  # the first pair unmeasured
                started = time.perf_counter()
                want = save(main_ours, text, n)
                until(ours_port, "/__bench", want)
                took = time.perf_counter() - started
                started = time.perf_counter()
                want = save(main_hand, text, n)
                hand.cycle()
                until(hand_port, "/__bench", want)
                base = time.perf_counter() - started
                if n:
                    ours.append(took)
                    theirs.append(base)
                    ratios.append(took / base)
                time.sleep(0.3)
            first = rss_mb(loop.pid)
            for n in range(args.rebuilds):
                until(ours_port, "/__bench", save(main_ours, text, 1000 + n))
            last = rss_mb(loop.pid)
        finally:
            hand.stop()
            loop.send_signal(signal.SIGTERM)
            loop.wait(timeout=60)
    print(f"median of {args.runs} alternating runs; KrakenD: {krakend}")
    print("| what | ours ms | yardstick ms | ratio | goal |\n|---|---:|---:|---:|---:|")
    print(f"| save of a one-line change to the new answer served (local engine) | "
          f"{statistics.median(ours) * 1000:.0f} | {statistics.median(theirs) * 1000:.0f} | "
          f"{statistics.median(ratios):.2f}x | <= 1.2x |")
    print(f"\nthe loop's resident memory: {first:.1f} MB after the first rebuilds, {last:.1f} MB after "
          f"{args.rebuilds} more ({(last - first) / first * 100:+.1f}%)")


if __name__ == "__main__":
    main()
