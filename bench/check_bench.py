"""check benchmark: KrakenD CE 2.13.8's own go.sum (398 modules) against the cached 2.13.8 release.

Prints the Python call (`check_project`, median of 50), `python -m krakend_tasks check` and
`nox -s check` end to end (best of 5), and, given `--krakend PATH`, KrakenD's own
`check-plugin` on the same go.sum for the side by side (best of 5).
Usage: python bench/check_bench.py [--krakend /usr/bin/krakend]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "krakend"


def best(cmd: list[str], cwd: Path, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, capture_output=True, env=os.environ, check=True)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--krakend", help="a KrakenD binary for the side by side")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        proxy = tmp_path / "proxy" / "github.com" / "krakend" / "krakend-ce" / "v2" / "@v"
        proxy.mkdir(parents=True)
        shutil.copy(SHARED / "go.mod.v2.13.8", proxy / "v2.13.8.mod")
        os.environ.update(GOPROXY=(tmp_path / "proxy").as_uri(), XDG_CACHE_HOME=str(tmp_path / "cache"))
        project = tmp_path / "plugin"
        project.mkdir()
        shutil.copy(SHARED / "go.sum.v2.13.8", project / "go.sum")
        shutil.copy(SHARED / "go.mod.v2.13.8", project / "go.mod")
        (project / "noxfile.py").write_text("import krakend_tasks.nox\nkrakend_tasks.nox.register(version='2.13.8')\n")

        from krakend_tasks.core.project.settings import load_settings
        from krakend_tasks.core.targets import parse_target
        from krakend_tasks.core.verifying.check import check_project

        settings = load_settings(project, version="2.13.8")
        target = parse_target("amd64-alpine")
        check_project(settings, target)  # fills the on-disk cache, as a first run would
        calls = []
        for _ in range(50):
            started = time.perf_counter()
            check_project(settings, target)
            calls.append(time.perf_counter() - started)
        modules = len(check_project(settings, target).plugin.deps)
        print(f"go.sum modules: {modules}")
        print(f"check_project() Python call, cached release: {statistics.median(calls) * 1000:.1f} ms (median of 50)")
        libc = ["--format", "krakend", "--libc", "MUSL-1.2.5_(alpine-3.23)"]  # compatible: exits 0
        cli = best([sys.executable, "-m", "krakend_tasks", "check", "--version", "2.13.8", *libc], project)
        print(f"python -m krakend_tasks check --format krakend: {cli * 1000:.0f} ms (best of 5)")
        nox = best([sys.executable, "-m", "nox", "-s", "check", "--", *libc], project)
        print(f"nox -s check -- --format krakend: {nox * 1000:.0f} ms (best of 5)")
        if args.krakend:
            real = best([args.krakend, "check-plugin", "-s", str(project / "go.sum")], project)
            print(f"krakend check-plugin: {real * 1000:.0f} ms (best of 5); nox -s check is {nox / real:.1f}x")
        else:
            print("krakend check-plugin: not measured (pass --krakend PATH to a KrakenD binary)")


if __name__ == "__main__":
    main()
