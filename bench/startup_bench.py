"""Start-up of what users wait on before any work: `krakend-tasks --help`, `krakend-tasks build --help`,
`nox -l` in a plugin project, and `invoke --list` there, this checkout against a baseline revision.

The baseline is the same commands on a git worktree of `--baseline REV` (default: the parent of
HEAD), with the same interpreter and packages: both sides do the same work. The two run in turn
(ours, baseline, ours, ...), N times after one unmeasured run of each; the figures are medians of
whole-process wall time, and the ratio is ours / the baseline's, taken run by run.

Usage: python bench/startup_bench.py [--baseline REV] [--runs 15]
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
NOXFILE = "import krakend_tasks.nox\n\nkrakend_tasks.nox.register(project='.')\n"
TASKS = "from krakend_tasks.invoke import collection\n\nns = collection(project='.')\n"


def commands() -> dict[str, list[str]]:
    return {
        "krakend-tasks --help": [sys.executable, "-m", "krakend_tasks", "--help"],
        "krakend-tasks build --help": [sys.executable, "-m", "krakend_tasks", "build", "--help"],
        "nox -l": [sys.executable, "-m", "nox", "-l"],
        "invoke --list": [sys.executable, "-m", "invoke", "--list"],
    }


def timed(command: list[str], cwd: Path, checkout: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(checkout), "PYTHONDONTWRITEBYTECODE": "1"}
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} in {checkout} failed:\n{done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="HEAD~1")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="krakend-tasks-startup-") as tmp:
        baseline = Path(tmp) / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(baseline), args.baseline],
                       check=True, capture_output=True)
        try:
            project = Path(tmp) / "plugin"
            shutil.copytree(ROOT / "examples" / "hello-plugin", project)
            (project / "noxfile.py").write_text(NOXFILE)
            (project / "tasks.py").write_text(TASKS)
            for checkout in (ROOT, baseline):  # bytecode compiled once, as an install compiles it
                subprocess.run([sys.executable, "-m", "compileall", "-q", str(checkout / "krakend_tasks")], check=True)
            revision = subprocess.run(["git", "-C", str(baseline), "rev-parse", "--short", "HEAD"],
                                      capture_output=True, text=True, check=True).stdout.strip()
            print(f"ours: {ROOT} (working tree); baseline: {args.baseline} ({revision}); {args.runs} runs each, "
                  "in turn, after one unmeasured run")
            print(f"{'command':<30} {'ours ms':>8} {'baseline ms':>12} {'ratio':>6}")
            for name, command in commands().items():
                timed(command, project, ROOT), timed(command, project, baseline)
                ours, theirs = [], []
                for _ in range(args.runs):
                    ours.append(timed(command, project, ROOT))
                    theirs.append(timed(command, project, baseline))
                ratio = statistics.median(a / b for a, b in zip(ours, theirs, strict=True))
                print(f"{name:<30} {statistics.median(ours) * 1000:>8.0f} {statistics.median(theirs) * 1000:>12.0f} "
                      f"{ratio:>6.2f}")
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline)],
                           capture_output=True)


if __name__ == "__main__":
    main()
