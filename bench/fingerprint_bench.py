"""Fingerprint benchmark: compare a plugin's package fingerprints with a KrakenD binary's.

Usage: python bench/fingerprint_bench.py PLUGIN.so KRAKEND_BINARY
Prints the file sizes and:
  - cold: a new process-free cache, read both files and compare (median of 5, each with an empty cache);
  - cached: KrakenD's table from the disk cache (by digest) plus the plugin read and compared (median of 20);
  - in-process: the bundled KrakenD 2.13.8 table (already loaded) against the plugin (median of 20);
  - `python -m krakend_tasks inspect --krakend-bin` end to end (best of 5).
Baseline: `go version -m` of the binary (native code reading only the build info), best of 5.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from krakend_tasks.core.golang import fingerprints
from krakend_tasks.core.krakend import fingerprints as krakend_fingerprints


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    plugin, binary = Path(sys.argv[1]), Path(sys.argv[2])
    print(f"plugin {plugin.stat().st_size / 1e6:.1f} MB, KrakenD binary {binary.stat().st_size / 1e6:.1f} MB")
    arch = fingerprints.read_fingerprints(plugin).arch

    def cold() -> float:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["XDG_CACHE_HOME"] = tmp
            return timed(lambda: fingerprints.compare(fingerprints.read_fingerprints(plugin),
                                                      krakend_fingerprints.from_binary(binary)))

    cold_ms = statistics.median(cold() for _ in range(5)) * 1000
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XDG_CACHE_HOME"] = tmp
        krakend_fingerprints.from_binary(binary)
        def against_cached_binary() -> None:
            fingerprints.compare(fingerprints.read_fingerprints(plugin), krakend_fingerprints.from_binary(binary))

        cached_ms = statistics.median(timed(against_cached_binary) for _ in range(20)) * 1000
        table = krakend_fingerprints.for_krakend("2.13.8", arch)
        assert table is not None
        bundled_ms = statistics.median(
            timed(lambda: fingerprints.compare(fingerprints.read_fingerprints(plugin), table))
            for _ in range(20)) * 1000
        project = plugin.parent
        command = [sys.executable, "-m", "krakend_tasks", "inspect", "--path", str(plugin), "--krakend-bin",
                   str(binary), "--json"]
        cli_ms = min(timed(lambda: subprocess.run(command, cwd=project, capture_output=True)) for _ in range(5)) * 1000
    go_ms = min(timed(lambda: subprocess.run(["go", "version", "-m", str(binary)], capture_output=True))
                for _ in range(5)) * 1000
    print(f"cold (read both, compare, empty cache): {cold_ms:.0f} ms (median of 5)")
    print(f"KrakenD's table cached by digest, plugin read and compared: {cached_ms:.0f} ms (median of 20)")
    print(f"bundled table in process, plugin read and compared: {bundled_ms:.0f} ms (median of 20)")
    print(f"python -m krakend_tasks inspect --krakend-bin, end to end: {cli_ms:.0f} ms (best of 5)")
    print(f"baseline: go version -m of the binary: {go_ms:.0f} ms (best of 5)")


if __name__ == "__main__":
    main()
