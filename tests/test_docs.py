"""Every command in README.md and docs/: each ```sh block runs, in order, in a scratch copy of the
repository, and must exit as the page says.

A comment line `<!-- docs-test: cwd=DIR exit=N -->` just above a block sets its folder (relative to
the copy) and expected exit status; `run=fresh-venv` marks README's test command, which is run in a
new virtual environment with nothing installed, on a few tests of this suite (PYTEST_ADDOPTS) and
without a Docker engine, so that it shows what a fresh machine gets: its install works, tests
run, and the last lines say what was skipped and which command installs the rest. What cannot
exist here is replaced through the environment,
never by editing the commands: the builder images are local stand-ins and KrakenD's image is the
real KrakenD compiled here (no registry; see test_ship.py), and KrakenD's go.mod comes from a
file:// module proxy (the public proxy refuses krakend-ce here). README's install command runs in
a virtual environment of its own.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, builder_repo

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"(?:<!-- docs-test: (?P<directive>[^>]*?) -->\n)?^```sh\n(?P<body>.*?)^```", re.S | re.M)


def blocks(doc: Path) -> list[tuple[int, dict[str, str], str]]:
    text = doc.read_text()
    found = []
    for m in BLOCK.finditer(text):
        directive = dict(word.split("=", 1) for word in (m["directive"] or "").split())
        found.append((text[:m.start("body")].count("\n") + 1, directive, m["body"]))
    assert len(found) == text.count("```sh\n"), f"{doc.name}: a ```sh block was not understood"
    return found


def test_every_page_with_commands_is_covered():
    with_commands = [d.name for d in DOCS if blocks(d)]
    assert {"README.md", "quickstart.md", "sessions-and-tasks.md", "recipes.md",
            "troubleshooting.md"} <= set(with_commands)
    special = [(d.name, directive) for d in DOCS for _, directive, _ in blocks(d) if set(directive) - {"cwd", "exit"}]
    assert special == [("README.md", {"run": "fresh-venv"})]


@pytest.fixture(scope="module")
def docs_env(go_proxy, krakend_image, tmp_path_factory):
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRAKEND_TASKS_")}
    env.update({
        "KRAKEND_TASKS_BUILDER": builder_repo(), "KRAKEND_TASKS_PULL": "never",
        "KRAKEND_TASKS_KRAKEND_IMAGE": krakend_image.split(":")[0], "GOPROXY": go_proxy,
    })
    return env, venv


def scratch_copy(dest: Path) -> Path:
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


@pytest.mark.parametrize("doc", [d for d in DOCS if blocks(d)], ids=lambda d: d.name)
def test_doc_commands(doc, tmp_path, docs_env, docker_client, cross):
    env, venv = docs_env
    if doc.name == "README.md":  # it installs the package: into a venv, not the test's environment
        env = {**env, "PATH": f"{venv / 'bin'}{os.pathsep}{env['PATH']}", "VIRTUAL_ENV": str(venv)}
    repo = scratch_copy(tmp_path / "repo")
    try:
        for line, directive, body in blocks(doc):
            if directive.get("run") == "fresh-venv":
                run_in_fresh_venv(body, repo, tmp_path / "fresh")
                continue
            proc = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", body], cwd=repo / directive.get("cwd", "."),
                                  env=env, capture_output=True, text=True, timeout=900)
            assert proc.returncode == int(directive.get("exit", 0)), (
                f"{doc.name}:{line} exited {proc.returncode}:\n{body}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    finally:
        for image in docker_client.images.list(filters={"label": "krakend-tasks=ship"}):
            docker_client.images.remove(image.id, force=True)


def run_in_fresh_venv(body: str, repo: Path, venv: Path) -> None:
    """README's test command in a virtual environment with nothing installed, no Docker engine."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KRAKEND_TASKS_", "KT_", "VIRTUAL_ENV"))}
    env.update({"PATH": f"{venv / 'bin'}{os.pathsep}{env['PATH']}", "VIRTUAL_ENV": str(venv),
                "DOCKER_HOST": "unix:///nonexistent/docker.sock",
                "PYTEST_ADDOPTS": "-p no:cacheprovider -k 'test_semver or test_cache_volumes_hold_the_go_caches'"})
    proc = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", body], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    last = proc.stdout.strip().splitlines()[-3:]
    assert "skipped, missing: no Docker daemon" in last[0] and "`bash .ci/run` installs everything" in last[1]
    assert re.search(r"\d+ passed, 1 skipped", last[2]), last
