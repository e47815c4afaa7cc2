"""Build benchmark: krakend-tasks engines side by side with the baselines they replace.

Prints, in one run, for the bundled example plugin and KrakenD 2.13.8:
  - cold and warm (best of 3) build per target, docker engine and local engine;
  - warm plain `go build -buildmode=plugin` on the host (baseline for a warm rebuild);
  - the naive recipe of KrakenD's docs, `docker run ... go build` with no cache volumes, per target;
  - the best a user could do by hand: `docker run` with named volumes at /go/pkg/mod and at the
    build cache, its output kept in the project, warm (best of 3), per target;
  - `python -c "import krakend_tasks.nox"` (best of 10).
Usage: python bench/build_bench.py [--builder local/krakend-builder] [--network host] [--skip-docker]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from krakend_tasks.core.building.build import build
from krakend_tasks.core.project.settings import Settings, load_settings
from krakend_tasks.core.targets import ALL_TARGETS
from krakend_tasks.engines import engine_for

ROOT = Path(__file__).resolve().parent.parent
VERSION = "2.13.8"


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def quiet(_: str) -> None:
    pass


def bench_local(project: Path, cache: Path) -> dict[str, tuple[float, float]]:
    os.environ["GOCACHE"] = str(cache)
    results = {}
    for target in ALL_TARGETS:
        settings = load_settings(project, engine="local", version=VERSION, targets=target.name)
        cold = timed(lambda s=settings: build(s, engine_for(s), log=quiet))
        results[target.name] = (cold, warm_best(settings))
    return results


def warm_best(settings: Settings) -> float:
    return min(timed(lambda: build(settings, engine_for(settings), log=quiet)) for _ in range(3))


def plain_go_build(project: Path) -> float:
    env = {**os.environ, "GOTOOLCHAIN": "go1.25.12", "CGO_ENABLED": "1", "GOMODCACHE": "/go/pkg/mod"}
    cmd = ["go", "build", "-buildmode=plugin", "-o", "/tmp/bench-plain.so", "."]
    subprocess.run(cmd, cwd=project, env=env, check=True)
    return min(timed(lambda: subprocess.run(cmd, cwd=project, env=env, check=True)) for _ in range(3))


def bench_docker(project: Path, builder: str, network: str | None,
                 ) -> tuple[dict[str, tuple[float, float]], dict[str, float], dict[str, float]]:
    """(engine cold/warm, the docs' naive recipe, the hand-written run with cache volumes) per target."""
    import docker

    client = docker.from_env()
    results, naive, by_hand = {}, {}, {}
    for target in ALL_TARGETS:
        settings = load_settings(project, engine="docker", version=VERSION, targets=target.name,
                                 builder=builder, pull="never", network=network)
        volume = f"krakend-tasks-gocache-1.25.12-{target.name}"  # the build cache; modules stay cached
        with contextlib.suppress(docker.errors.NotFound):
            client.volumes.get(volume).remove(force=True)
        cold = timed(lambda s=settings: build(s, engine_for(s), log=quiet))
        results[target.name] = (cold, warm_best(settings))
        recipe = settings.recipe(target)
        env = recipe.environment(on_host=False)
        flags = recipe.linker_flags(on_host=False)
        # the output stays in the project between runs, as ours does: Go may skip an up-to-date link
        command = ["go", "build", "-buildmode=plugin", *([f"-ldflags={flags}"] if flags else []), "-o",
                   f"dist-by-hand/{target.name}.so", "."]

        def docker_run(volumes: dict, r=recipe, e=env, c=command) -> None:
            client.containers.run(r.image, c, environment=e, working_dir="/app", remove=True, network_mode=network,
                                  volumes={str(project): {"bind": "/app", "mode": "rw"}, **volumes})

        naive[target.name] = timed(lambda: docker_run({}))
        caches = {"bench-by-hand-mod": {"bind": "/go/pkg/mod", "mode": "rw"},
                  f"bench-by-hand-build-{target.name}": {"bind": "/root/.cache/go-build", "mode": "rw"}}
        docker_run(caches)  # warm the hand-written caches once
        by_hand[target.name] = min(timed(lambda v=caches: docker_run(v)) for _ in range(3))
    return results, naive, by_hand


def import_time() -> float:
    cmd = [sys.executable, "-c", "import krakend_tasks.nox"]
    return min(timed(lambda: subprocess.run(cmd, check=True)) for _ in range(10))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--builder", default="local/krakend-builder")
    parser.add_argument("--network", help="docker network for builds (host where the daemon has no bridge)")
    parser.add_argument("--skip-docker", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "hello"
        shutil.copytree(ROOT / "examples" / "hello-plugin", project, ignore=shutil.ignore_patterns("dist*"))
        local = bench_local(project, Path(tmp) / "gocache")
        plain = plain_go_build(project)
        print(f"{'target':<15}{'engine':<8}{'cold s':>8}{'warm s':>8}{'naive docker run s':>20}"
              f"{'by hand, warm s':>17}")
        for name, (cold, warm) in local.items():
            print(f"{name:<15}{'local':<8}{cold:>8.2f}{warm:>8.2f}")
        if not args.skip_docker:
            docker_results, naive, by_hand = bench_docker(project, args.builder, args.network)
            for name, (cold, warm) in docker_results.items():
                print(f"{name:<15}{'docker':<8}{cold:>8.2f}{warm:>8.2f}{naive[name]:>20.2f}{by_hand[name]:>17.2f}")
            warm4, naive4 = sum(w for _, w in docker_results.values()), sum(naive.values())
            hand4 = sum(by_hand.values())
            print(f"\nwarm 4-target docker build: {warm4:.2f} s; naive recipe, 4 targets: {naive4:.2f} s "
                  f"({naive4 / warm4:.1f}x faster); by hand with cache volumes and the output kept, warm: "
                  f"{hand4:.2f} s ({warm4 / hand4:.2f}x of it)")
            amd = docker_results["amd64-generic"][1]
            print(f"warm docker rebuild amd64-generic: {amd:.2f} s vs warm plain host go build {plain:.2f} s "
                  f"({amd / plain:.2f}x)")
        lw = local["amd64-generic"][1]
        print(f"warm local rebuild amd64-generic: {lw:.2f} s vs warm plain host go build {plain:.2f} s "
              f"({lw / plain:.2f}x)")
        print(f"python -c 'import krakend_tasks.nox': {import_time() * 1000:.0f} ms (best of 10, "
              f"interpreter start included)")


if __name__ == "__main__":
    main()
