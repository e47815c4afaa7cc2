"""The drop-ins `krakend-tasks check-plugin` and `test-plugin` against the real ones.

Generated cases, each run by the real KrakenD CE 2.13.8 (glibc and musl builds, .ci/krakend.sh)
and by our drop-in, which has no KrakenD (release data, our loader and the fingerprints): the
text and the exit status must be the same, the duration in test-plugin's summary aside.
"""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path

import pytest

from krakend_tasks.core.project.settings import load_settings

from .conftest import PYTHON, VERSION, build_in, copy_example, krakend, run

GO_SUM = Path(__file__).resolve().parent / "data" / "krakend" / "go.sum.v2.13.8"
FLAVOURS = {"glibc": "amd64-generic", "musl": "amd64-alpine"}
LIBC = {"amd64-generic": "GLIBC-2.36_(debian-12)", "amd64-alpine": "MUSL-1.2.5_(alpine-3.23)"}
DURATION = re.compile(r"tested plugin\(s\) in [0-9.]+(ns|µs|ms|s)")


def go_sum_case(rng: random.Random) -> tuple[str, str, list[str]]:
    """A go.sum drawn from KrakenD's own (some versions changed, foreign modules, odd lines), a go.mod
    that marks some modules indirect, and check-plugin flags."""
    lines = [line for line in GO_SUM.read_text().splitlines() if line]
    chosen = rng.sample(lines, rng.randint(0, 40))
    out = []
    for line in chosen:
        module, version, *rest = line.split(" ")
        if rng.random() < 0.25:  # another version: lower, higher, or a pseudo-version
            version = rng.choice(["v0.0.1", "v99.1.0", "v1.2.3-0.20200101000000-abcdefabcdef", version + "-rc.1"])
        out.append(" ".join([module, version, *rest]))
    out += rng.sample(["example.com/foreign v1.0.0 h1:x=", "example.com/foreign v1.0.0/go.mod h1:y=", "lonely",
                       "", "github.com/google/uuid v1.1.0 h1:z="], rng.randint(0, 3))
    rng.shuffle(out)
    modules = sorted({line.split(" ")[0] for line in out if " " in line})
    go_mod = "module example.com/p\n\ngo 1.25\n\nrequire (\n" + "".join(
        f"\t{m} {major(m)}.0.0{' // indirect' if rng.random() < 0.5 else ''}\n" for m in modules) + ")\n"
    flags = []
    if rng.random() < 0.5:
        flags += ["-g", rng.choice(["1.25.12", "1.24.3", "go1.25.12"])]
    if rng.random() < 0.6:
        flags += ["-l", rng.choice([*LIBC.values(), "GLIBC-2.31_(debian-11)", "MUSL-1.2.5_(alpine-3.23.4)"])]
    if rng.random() < 0.4:
        flags.append("-f")
    return "\n".join(out) + "\n", go_mod, flags


def major(module: str) -> str:
    """A major version Go accepts for the module path (…/v2 and gopkg.in/x.v2 need v2)."""
    found = re.search(r"(?:/v|\.v)(\d+)$", module)
    return f"v{found.group(1)}" if found and found.group(1) != "0" else "v1"


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("seed", range(8))
def test_check_plugin_says_what_krakend_says(krakend_bins, tmp_path, flavour, seed):
    target = FLAVOURS[flavour]
    go_sum, go_mod, flags = go_sum_case(random.Random(seed * 7919 + len(flavour)))
    (tmp_path / "go.sum").write_text(go_sum)
    (tmp_path / "go.mod").write_text(go_mod)
    real = krakend(krakend_bins, target, "check-plugin", "-s", str(tmp_path / "go.sum"), *flags)
    ours = run([PYTHON, "-m", "krakend_tasks", "check-plugin", "--version", VERSION, "--target", target,
                "-s", str(tmp_path / "go.sum"), *flags], tmp_path)
    assert (ours.stdout, ours.stderr, ours.returncode) == (real.stdout, real.stderr, real.returncode), (flags, go_sum)


@pytest.fixture(scope="module")
def plugin_files(tmp_path_factory, cross) -> dict[str, Path]:
    """Plugins KrakenD accepts and refuses, for amd64: our builds of the three types for both libcs,
    the example built from another module cache, an arm64 build, a file that is not a plugin."""
    from krakend_tasks.core.krakend.releases import resolve
    from krakend_tasks.core.workflows.scaffold import new

    root = tmp_path_factory.mktemp("cases")
    files = {}
    for kind in ("server", "client", "modifier"):
        project = root / kind
        new(project, kind, f"my-{kind}", release=resolve(VERSION))
        for artifact in build_in(load_settings(project, engine="local", version=VERSION,
                                               targets="amd64-generic,amd64-alpine,arm64-generic")):
            files[f"{kind}-{artifact.target}"] = project / "dist" / artifact.path
    project = copy_example(root / "hello")
    foreign = root / "foreign" / "hello.so"  # the host's own module cache: another fingerprint of google/uuid
    import os
    import subprocess

    env = {**os.environ, "GOTOOLCHAIN": "go1.25.12", "GOMODCACHE": str(root / "gopath" / "pkg" / "mod"),
           "CGO_ENABLED": "1"}
    subprocess.run(["go", "build", "-buildmode=plugin", "-o", str(foreign), "."], cwd=project, check=True, env=env,
                   capture_output=True)
    files["foreign-amd64-generic"] = foreign
    text = root / "text.so"
    text.write_text("not a plugin\n")
    files["text"] = text
    files["missing"] = root / "missing.so"
    shutil.rmtree(root / "gopath", ignore_errors=True)
    return files


def normalized(text: str) -> str:
    return DURATION.sub("tested plugin(s) in D", text)


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("seed", range(7))
def test_test_plugin_says_what_krakend_says(krakend_bins, plugin_files, tmp_path, flavour, seed):
    target = FLAVOURS[flavour]
    rng = random.Random(seed * 104729 + len(flavour))
    names = rng.sample(sorted(plugin_files), rng.randint(0 if seed == 0 else 1, 3))
    flags = [f for f in ("-s", "-c", "-m") if rng.random() < 0.5] if seed != 1 else []
    paths = [str(plugin_files[n]) for n in names]
    real = krakend(krakend_bins, target, "test-plugin", *flags, *paths)
    ours = run([PYTHON, "-m", "krakend_tasks", "test-plugin", "--version", VERSION, "--target", target, *flags,
                *paths], tmp_path)
    assert (ours.stdout, normalized(ours.stderr), ours.returncode) == (
        real.stdout, normalized(real.stderr), real.returncode), (flags, names)
