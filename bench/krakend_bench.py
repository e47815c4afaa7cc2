"""Warm paths against the tools they wrap: docs/benchmarks.md's first table.

Each row runs ours and its yardstick alternately (ours, yardstick, ours, ...: both see the same
machine state), N times after one unmeasured run of each; figures are medians, the ratio is ours /
the yardstick's, taken run by run, and `peak MB` is our process's maximum resident memory. Every
yardstick does the same work as ours:

- warm rebuild, local engine: `go build -buildmode=plugin` with the environment our local engine
  gives it (GOTOOLCHAIN, GOMODCACHE=/go/pkg/mod, CGO_ENABLED, CC), the same caches, its output kept
  in the project between runs, so that Go may skip the link as it does for ours;
- warm rebuild, docker engine: `docker run --rm` of the same builder image with named volumes at
  /go/pkg/mod and at the build cache, the project mounted, its output kept in the project; and the
  floor of any build through the Docker SDK: a script that imports it and makes the one call
  `containers.run` of the same container (its row: the same yardstick);
- `check --krakend-bin K --target amd64-generic` and `check --target amd64-generic` (bundled
  release data): `K check-plugin -s go.sum -l <libc>` on the same go.sum;
- `inspect --krakend-bin K --path x.so`: `K test-plugin -s x.so` on the same plugin;
- `smoke --krakend-bin K` (one request): a shell script that starts `K run -c` on the same staged
  config, polls /__health with curl, sends the request and stops KrakenD;
- `smoke --krakend-bin K --specs DIR` (twenty KrakenD integration specs, all passing): KrakenD's own
  `krakend-integration` on the same specs, config and plugin, told the ready URL (its fastest start:
  without it, it waits 1.5 s). Both start KrakenD, wait for it, send and judge twenty requests and
  stop it.

K is the real KrakenD CE 2.13.8 of .ci/krakend.sh (amd64 glibc). Ours runs as a user's install
does: the `krakend-tasks` console script, in a virtual environment of its own (made under
~/.cache/krakend-tasks-bench), whose only site hook is the one that puts this checkout and the
interpreter's packages on the path, with bytecode compiled as `pip install` compiles it.

Usage: python bench/krakend_bench.py [--krakend K] [--runs 10] [--builder local/krakend-builder]
       [--harness krakend-integration] [--only local,docker,check,inspect,bundled,smoke,specs]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import site
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
GO = "1.25.12"
LIBC = "GLIBC-2.36_(debian-12)"
ROWS = ("local", "docker", "check", "inspect", "bundled", "smoke", "specs")
GOALS = {"local": 1.5, "docker": 1.2, "check": 1.5, "inspect": 2.0, "bundled": 1.5, "smoke": 2.0, "specs": 1.5}

# the Docker SDK's own one-call run of the same container, run by the venv's python: the floor of
# any build through the SDK
SDK_RUN = r"""
import sys
sys.modules["paramiko"] = None  # as krakend-tasks imports the SDK (engines/sdk.py): no SSH transport
import docker
image, project = sys.argv[1], sys.argv[2]
docker.from_env().containers.run(image, ["go", "build", "-buildmode=plugin", "-buildvcs=false", "-o",
    "dist-sdk/hello.so", "."], working_dir="/app", network_mode=sys.argv[3], remove=True, volumes={
    project: {"bind": "/app", "mode": "rw"}, "krakend-tasks-bench-gomod": {"bind": "/go/pkg/mod", "mode": "rw"},
    "krakend-tasks-bench-gocache": {"bind": "/root/.cache/go-build", "mode": "rw"}})
"""

HAND_SMOKE = r"""
set -e
"$1" run -c "$2" >/dev/null 2>&1 &
pid=$!
until curl -fs -o /dev/null "http://127.0.0.1:$3/__health"; do sleep 0.01; done
curl -fs "http://127.0.0.1:$3/__hello" | grep -q "hello from hello"
kill $pid; wait $pid || true
"""


def venv_command() -> list[str]:
    """`krakend-tasks` in a virtual environment that sees this checkout and the interpreter's
    packages, nothing else: the console script pip writes for the project's entry point."""
    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "krakend-tasks-bench"
    venv = home / f"venv-{sys.version_info.major}.{sys.version_info.minor}"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    packages = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                              check=True, capture_output=True, text=True).stdout.strip()
    Path(packages, "krakend-tasks-bench.pth").write_text(f"{ROOT}\n{site.getsitepackages()[0]}\n")
    compileall.compile_dir(ROOT / "krakend_tasks", quiet=1)
    script = venv / "bin" / "krakend-tasks"
    script.write_text(f"#!{python}\nimport sys\nfrom krakend_tasks.cli import main\n"
                      "if __name__ == '__main__':\n    sys.exit(main())\n")
    script.chmod(0o755)
    return [str(script)]


def timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Seconds and peak resident MB of one run (it must succeed)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
    return took, usage.ru_maxrss / 1024


def pair(key: str, what: str, ours: list[str], theirs: list[str], cwd: Path, runs: int,
         theirs_env: dict[str, str] | None = None) -> dict:
    timed(ours, cwd)  # one unmeasured run of each: caches filled, as any earlier run would have
    timed(theirs, cwd, theirs_env)
    a, b, ratios, peak = [], [], [], 0.0
    for _ in range(runs):
        took, mb = timed(ours, cwd)
        base = timed(theirs, cwd, theirs_env)[0]
        a.append(took)
        b.append(base)
        ratios.append(took / base)
        peak = max(peak, mb)
    return {"key": key, "what": what, "ours_ms": statistics.median(a) * 1000,
            "yardstick_ms": statistics.median(b) * 1000, "ratio": statistics.median(ratios), "peak_mb": peak}


def twenty_specs(folder: Path, port: int) -> Path:
    """Twenty passing KrakenD integration specs on the example: its answer, status, headers, body."""
    folder.mkdir()
    url = f"http://localhost:{port}/__hello"
    outs = [{"status_code": 200}, {"status_code": 200, "body": "hello from hello\n"},
            {"status_code": 200, "header": {"Content-Type": ["text/plain; charset=utf-8"]}},
            {"status_code": 200, "header": {"X-Nothing": [""]}}, {"status_code": 200, "schema": {}}]
    for i in range(20):
        spec = {"in": {"method": "GET", "url": url, "header": {"X-Spec": str(i)}}, "out": outs[i % len(outs)]}
        (folder / f"spec_{i:02d}.json").write_text(json.dumps(spec))
    return folder


def main() -> None:
    from tests.conftest import krakend_dir

    parser = argparse.ArgumentParser()
    parser.add_argument("--krakend", help="a KrakenD binary (default: .ci/krakend.sh's amd64-generic)")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--builder", default=os.environ.get("KT_TEST_BUILDER", "local/krakend-builder"))
    parser.add_argument("--network", default="host", help="docker network of the builds (default host)")
    parser.add_argument("--harness", help="krakend-integration (default: .ci/krakend.sh's)")
    parser.add_argument("--only", default=",".join(ROWS), help="rows: " + ",".join(ROWS))
    args = parser.parse_args()
    only = args.only.split(",")
    folder = krakend_dir()
    krakend = Path(args.krakend or (folder / "krakend-amd64-generic" if folder else ""))
    if not krakend.is_file():
        raise SystemExit("no KrakenD: pass --krakend, or run `eval \"$(bash .ci/krakend.sh)\"`")
    py = venv_command()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "hello"
        shutil.copytree(ROOT / "examples" / "hello-plugin", project, ignore=shutil.ignore_patterns("dist*"))
        local = [*py, "build", "--engine", "local", "--target", "amd64-generic"]
        subprocess.run(local, cwd=project, check=True, capture_output=True)
        plugin = project / "dist" / "hello-2.13.8-amd64-generic.so"
        if "local" in only:
            go_env = {**os.environ, "GOTOOLCHAIN": f"go{GO}", "GOMODCACHE": "/go/pkg/mod", "GOFLAGS": "-buildvcs=false",
                      "CGO_ENABLED": "1", "GOOS": "linux", "GOARCH": "amd64", "CC": "gcc"}
            rows.append(pair("local", "warm rebuild, local engine, amd64-generic", local,
                             ["go", "build", "-buildmode=plugin", "-buildvcs=false", "-o", "dist-hand/hello.so", "."],
                             project, args.runs, go_env))
        if "docker" in only:
            image = f"{args.builder}:2.13.8-linux-generic"
            docker = [*py, "build", "--engine", "docker", "--target", "amd64-generic", "--builder", args.builder,
                      "--pull", "never", "--network", args.network]
            hand = ["docker", "run", "--rm", "--network", args.network, "-v", f"{project}:/app", "-w", "/app",
                    "-v", "krakend-tasks-bench-gomod:/go/pkg/mod",
                    "-v", "krakend-tasks-bench-gocache:/root/.cache/go-build", image,
                    "go", "build", "-buildmode=plugin", "-buildvcs=false", "-o", "dist-docker/hello.so", "."]
            rows.append(pair("docker", "warm rebuild, docker engine, one target", docker, hand, project, args.runs))
            python = str(Path(py[0]).with_name("python"))
            rows.append(pair("sdk", "the same container through the Docker SDK alone (`containers.run`)",
                             [python, "-c", SDK_RUN, image, str(project), args.network], hand, project, args.runs))
        check = [str(krakend), "check-plugin", "-s", "go.sum", "-l", LIBC]
        if "check" in only:
            rows.append(pair("check", "check --krakend-bin K", [*py, "check", "--krakend-bin", str(krakend), "--target",
                                                        "amd64-generic"], check, project, args.runs))
        if "inspect" in only:
            rows.append(pair("inspect", "inspect --krakend-bin K --path x.so",
                             [*py, "inspect", "--krakend-bin", str(krakend), "--path", str(plugin)],
                             [str(krakend), "test-plugin", "-s", str(plugin)], project, args.runs))
        if "bundled" in only:
            rows.append(pair("bundled", "check (bundled release data)", [*py, "check", "--target", "amd64-generic"],
                             check, project, args.runs))
        stage = Path(tmp) / "stage"
        (stage / "plugins").mkdir(parents=True)
        shutil.copy(plugin, stage / "plugins" / "hello.so")
        config = json.loads((project / "krakend.json").read_text())
        port = 18000 + os.getpid() % 1000
        config.update(port=port, plugin={"pattern": ".so", "folder": str(stage / "plugins") + "/"})
        (stage / "krakend.json").write_text(json.dumps(config))
        if "smoke" in only:
            (project / "krakend-tasks.toml").write_text('version = "2.13.8"\n\n[[smoke]]\npath = "/__hello"\n'
                                                        'contains = "hello from hello"\n')
            rows.append(pair("smoke", "smoke --krakend-bin K (one request)",
                             [*py, "smoke", "--krakend-bin", str(krakend)],
                             ["bash", "-c", HAND_SMOKE, "smoke", str(krakend), str(stage / "krakend.json"), str(port)],
                             project, args.runs))
        if "specs" in only:
            harness = Path(args.harness or (folder / "krakend-integration" if folder else ""))
            if not harness.is_file():
                raise SystemExit("no krakend-integration: pass --harness, or run `eval \"$(bash .ci/krakend.sh)\"`")
            specs = twenty_specs(stage / "specs", port)
            (project / "krakend-tasks.toml").write_text('version = "2.13.8"\n')
            (project / "krakend.json").write_text(json.dumps(dict(config, plugin=json.loads(
                (ROOT / "examples" / "hello-plugin" / "krakend.json").read_text())["plugin"])))
            rows.append(pair("specs", "smoke --krakend-bin K --specs DIR (20 specs)",
                             [*py, "smoke", "--krakend-bin", str(krakend), "--specs", str(specs)],
                             [str(harness), "-krakend_bin_path", str(krakend), "-krakend_config_path",
                              str(stage / "krakend.json"), "-krakend_specs_path", str(specs),
                              "-krakend_backend_port", str(port + 1),
                              "-krakend_ready_url", f"http://localhost:{port}/__health"], project, args.runs))
    python = Path(py[0]).with_name("python")
    floor = statistics.median(timed([str(python), "-c", "pass"], ROOT)[0] for _ in range(5)) * 1000
    print(f"median of {args.runs} alternating runs; KrakenD: {krakend}; `python -c pass`: {floor:.0f} ms")
    print("| what | ours ms | yardstick ms | ratio | goal | peak MB |\n|---|---:|---:|---:|---:|---:|")
    for r in rows:
        goal = f"<= {GOALS[r['key']]}x" if r["key"] in GOALS else ""
        print(f"| {r['what']} | {r['ours_ms']:.0f} | {r['yardstick_ms']:.0f} | {r['ratio']:.2f}x | {goal} | "
              f"{r['peak_mb']:.0f} |")


if __name__ == "__main__":
    main()
