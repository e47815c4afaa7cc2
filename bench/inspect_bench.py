"""inspect benchmark: read_elf on a built plugin (about 11 MB) against `go version -m` on the same file.

Usage: python bench/inspect_bench.py PLUGIN.so   (e.g. examples/hello-plugin/dist/*.so after a build)
Prints the median of 20 in-process read_elf calls, and best of 5 end to end for
`python -m krakend_tasks inspect --json` and `go version -m`.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from krakend_tasks.core.golang.elf import read_elf


def best(cmd: list[str], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    path = Path(sys.argv[1])
    calls = []
    for _ in range(20):
        started = time.perf_counter()
        read_elf(path)
        calls.append(time.perf_counter() - started)
    print(f"file: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    print(f"read_elf (arch, libc, GLIBC versions, build info, registerers): {statistics.median(calls) * 1000:.0f} ms")
    cli = best([sys.executable, "-m", "krakend_tasks", "inspect", "--path", str(path), "--json"])
    print(f"python -m krakend_tasks inspect --json: {cli * 1000:.0f} ms")
    print(f"go version -m: {best(['go', 'version', '-m', str(path)]) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
