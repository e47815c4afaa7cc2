"""Shipping every architecture against the same steps by hand: docs/benchmarks.md's ship table.

With nothing changed since the last push (a server plugin built for amd64-alpine and arm64-alpine,
its Dockerfile written, both images and the list already in the registry), alternating, N times each:

- ours: `krakend-tasks ship --arch all --tag REG/bench-ours:1 --push --pull always`;
- the yardstick, the steps by hand with the docker CLI on the same engine and project: per
  platform `docker build --pull --platform linux/ARCH --build-arg TARGETARCH=ARCH -t REF-ARCH .` and
  `docker push REF-ARCH`, then `docker manifest create --insecure REF REF-amd64 REF-arm64` and
  `docker manifest push --insecure --purge REF` (this engine has no buildx).

Both pull KrakenD's image of each platform (this engine keeps one architecture per tag), build from
the cache, push layers the registry already has and put one list. The registry and the multi-arch
KrakenD image are .ci/registry.sh's (KT_REGISTRY). Usage:
    python bench/ship_bench.py [--registry HOST:PORT] [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ARCHES = ("amd64", "arm64")


def timed(commands: list[list[str]], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    for command in commands:
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
        if done.returncode and command[:3] != ["docker", "manifest", "rm"]:  # rm: nothing to remove yet
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    return time.perf_counter() - started


def main() -> None:
    from krakend_tasks.core.krakend.releases import resolve
    from krakend_tasks.core.project.settings import load_settings
    from krakend_tasks.core.workflows.scaffold import new
    from tests.conftest import build_in

    parser = argparse.ArgumentParser()
    parser.add_argument("--registry", default=os.environ.get("KT_REGISTRY"), help="HOST:PORT (default $KT_REGISTRY)")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if not args.registry:
        raise SystemExit("no registry: pass --registry, or run `eval \"$(bash .ci/registry.sh)\"`")
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "bench"
        new(project, "server", release=resolve("2.13.8"))
        (project / "krakend-tasks.toml").write_text('version = "2.13.8"\n')
        build_in(load_settings(project, engine="local", targets="alpine"))
        env = {**os.environ, "PYTHONPATH": str(ROOT), "DOCKER_CONFIG": str(Path(tmp) / "docker")}
        ours_ref, hand_ref = f"{args.registry}/bench-ours:1", f"{args.registry}/bench-hand:1"
        ours = [[sys.executable, "-m", "krakend_tasks", "ship", "--krakend-image", f"{args.registry}/krakend",
                 "--arch", "all", "--tag", ours_ref, "--push", "--pull", "always"]]
        hand = [command for arch in ARCHES for command in (
            ["docker", "build", "--pull", "--platform", f"linux/{arch}", "--build-arg", f"TARGETARCH={arch}",
             "-t", f"{hand_ref}-{arch}", "."],
            ["docker", "push", f"{hand_ref}-{arch}"])]
        hand += [["docker", "manifest", "rm", hand_ref],
                 ["docker", "manifest", "create", "--insecure", hand_ref, *(f"{hand_ref}-{a}" for a in ARCHES)],
                 ["docker", "manifest", "push", "--insecure", "--purge", hand_ref]]
        timed(ours, project, env)  # writes the Dockerfile both use, pushes the first time: unmeasured
        timed(hand, project, env)
        mine, theirs = [], []
        for _ in range(args.runs):
            mine.append(timed(ours, project, env))
            theirs.append(timed(hand, project, env))
    ratios = [a / b for a, b in zip(mine, theirs, strict=True)]
    print(f"runs: {args.runs} pairs, alternating (ratio run by run: {', '.join(f'{r:.2f}' for r in ratios)})")
    print("| what | ours ms | yardstick ms | ratio | goal |")
    print("|---|---|---|---|---|")
    print(f"| ship --arch all --push, nothing changed | {statistics.median(mine) * 1000:.0f} | "
          f"{statistics.median(theirs) * 1000:.0f} | {statistics.median(ratios):.2f}x | <= 1.3x |")


if __name__ == "__main__":
    main()
