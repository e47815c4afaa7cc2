"""Shared fixtures. Tests use real Go, real cross compilers, qemu and a real Docker engine.

Where a component is absent, its tests skip, unless KT_REQUIRE names it (CI sets
KT_REQUIRE=docker,cross so that a missing component fails instead).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "hello-plugin"
VERSION = "2.13.8"
REQUIRED = set(filter(None, os.environ.get("KT_REQUIRE", "").split(",")))
# Tests give krakend-tasks a cache of its own (XDG_CACHE_HOME); Go's build cache, which Go also
# finds there, stays the one of this machine, so that their builds are not compiled from scratch.
os.environ.setdefault("GOCACHE", str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "go-build"))
# Tests run in several processes at once (pytest-xdist's workers: pyproject's addopts). Every process a
# test starts inherits this mark, and the "nothing left running" checks count only the processes that
# carry their own worker's (`command_lines`).
RUN = f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{os.getpid()}"
os.environ["KT_TEST_RUN"] = RUN
# and a worker's temporary folder (TMPDIR, which what it starts inherits) is its own: a test that looks
# for what a run left there sees its own worker's runs only
WORKER_TMP = Path(tempfile.gettempdir()) / f"krakend-tasks-tests-{RUN}" if "PYTEST_XDIST_WORKER" in os.environ else None
if WORKER_TMP:
    WORKER_TMP.mkdir(mode=0o755, exist_ok=True)
    os.environ["TMPDIR"] = str(WORKER_TMP)
    tempfile.tempdir = None


REAL = {"docker_client", "cross", "krakend_bins", "krakend_image", "registry", "krakend_integration", "go_proxy"}
ENGINE = {"docker_client", "registry"}  # the fixtures of the tests that reach the Docker engine (ship pushes)
ENGINE_HOST = os.environ.get("DOCKER_HOST")


def reaches_engine(item) -> bool:
    return bool(ENGINE & set(getattr(item, "fixturenames", ())))


def pytest_collection_modifyitems(config, items) -> None:
    """`real`: a test that needs a real component (Docker, the cross compilers, Go builds, KrakenD, the
    registry); `pytest -m "not real"` runs the others in seconds. A worker of pytest-xdist sorts the
    tests that reach the Docker engine first and tells the scheduler which they are (`EngineTogether`)."""
    for item in items:
        if REAL & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.real)
    worker, told = getattr(config, "workerinput", {}).get("workerid"), os.environ.get("KT_TEST_ENGINE_IDS")
    if worker and told:
        items.sort(key=lambda item: not reaches_engine(item))
        written = Path(told) / f".{worker}"
        written.write_text("\n".join(item.nodeid for item in items if reaches_engine(item)))
        written.rename(Path(told) / worker)


def pytest_configure(config) -> None:
    if not hasattr(config, "workerinput"):  # pytest-xdist's workers, started later, inherit it
        os.environ["KT_TEST_ENGINE_IDS"] = tempfile.mkdtemp(prefix="krakend-tasks-tests-")


def pytest_unconfigure(config) -> None:
    if not hasattr(config, "workerinput"):
        shutil.rmtree(os.environ.pop("KT_TEST_ENGINE_IDS", ""), ignore_errors=True)
    elif WORKER_TMP:
        shutil.rmtree(WORKER_TMP, ignore_errors=True)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Under pytest-xdist (pyproject's addopts), the tests of one file run in one worker, so that a
    file's built plugins are built once, and the tests that reach the Docker engine run one after
    another in one worker, first: the containers a test counts when it ends are its own, since the
    other tests have no engine (`pytest_runtest_setup`)."""
    from xdist.scheduler import LoadFileScheduling

    class EngineTogether(LoadFileScheduling):
        engine: frozenset[str] = frozenset()

        def schedule(self) -> None:
            told = Path(os.environ["KT_TEST_ENGINE_IDS"])
            self.engine = frozenset(line for found in told.iterdir() if not found.name.startswith(".")
                                    for line in found.read_text().splitlines())
            super().schedule()

        def _split_scope(self, nodeid: str) -> str:
            return "the Docker engine" if nodeid in self.engine else super()._split_scope(nodeid)

    return EngineTogether(config, log)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item) -> None:
    """DOCKER_HOST for the tests that reach the engine alone, from before their fixtures (a module's
    build included) to their end: a test that does not ask for the engine starts no container."""
    if reaches_engine(item) and ENGINE_HOST is not None:
        os.environ["DOCKER_HOST"] = ENGINE_HOST
    else:
        os.environ.pop("DOCKER_HOST", None)


def pytest_terminal_summary(terminalreporter) -> None:
    """Close with what was skipped and the command that installs it, when something was."""
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    reasons = sorted({str(r.longrepr[2]).removeprefix("Skipped: ") for r in skipped if isinstance(r.longrepr, tuple)})
    terminalreporter.write_line(f"{len(skipped)} test(s) skipped, missing: " + "; ".join(reasons))
    terminalreporter.write_line("`bash .ci/run` installs everything they need (Debian packages, a private dockerd, "
                                "the local builder images, the real KrakenD) and runs every test")


def need(component: str, present: bool, why: str) -> None:
    if present:
        return
    if component in REQUIRED:
        pytest.fail(f"{component} is required here (KT_REQUIRE) but missing: {why}")
    pytest.skip(why)


def copy_example(dest: Path) -> Path:
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("dist*"))
    return dest


EXPECTED = {  # target -> (ELF architecture, libc) of its plugin
    "amd64-alpine": ("amd64", "musl"), "amd64-generic": ("amd64", "glibc"),
    "arm64-alpine": ("arm64", "musl"), "arm64-generic": ("arm64", "glibc"),
}


def build_in(settings, log=lambda _: None, keep_unloadable=False):
    """Build with the engine the settings name, as the build command does."""
    from krakend_tasks.core.building.build import build
    from krakend_tasks.engines import engine_for

    return build(settings, engine_for(settings, log), log=log, keep_unloadable=keep_unloadable)


def build_example(tmp_path_factory, **settings):
    """Build a fresh copy of the example for every target: (settings, artifacts, log lines)."""
    from krakend_tasks.core.project.settings import load_settings

    project = copy_example(tmp_path_factory.mktemp(settings.get("engine", "auto")) / "hello")
    loaded = load_settings(project, **settings)
    lines: list[str] = []
    return loaded, build_in(loaded, log=lines.append), lines


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A fresh copy of the bundled example plugin."""
    return copy_example(tmp_path / "hello")


@pytest.fixture(scope="session")
def cross() -> None:
    tools = ["go", "gcc", "musl-gcc", "aarch64-linux-gnu-gcc", "aarch64-linux-musl-gcc", "qemu-aarch64"]
    missing = [t for t in tools if not shutil.which(t)]
    need("cross", not missing, f"missing host tools: {missing} (run .ci/setup-host.sh)")


@pytest.fixture(scope="session")
def docker_client():
    """A Docker client with the local builder images (.ci/builder-images.sh) present."""
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        need("docker", False, f"no Docker daemon: {exc}")
    for suffix in ("", "-linux-generic"):
        image = f"{builder_repo()}:{VERSION}{suffix}"
        try:
            client.images.get(image)
        except docker.errors.ImageNotFound:
            if not os.environ.get("KT_REGISTRY") or not builder_repo().startswith(os.environ["KT_REGISTRY"]):
                need("docker", False, f"builder image {image} missing")
            from krakend_tasks.engines.containers import ensure_image  # pulled from the registry, as a user's is

            ensure_image(client, image, "missing", lambda _: None)
    return client


@pytest.fixture(scope="session")
def registry() -> str:
    """The real registry .ci/registry.sh started (host:port), with the multi-arch KrakenD image in it."""
    import urllib.request

    host = os.environ.get("KT_REGISTRY", "")
    try:
        answers = bool(host) and urllib.request.urlopen(f"http://{host}/v2/", timeout=5).status == 200
    except OSError:
        answers = False
    need("registry", answers, "no registry (KT_REGISTRY): run .ci/registry.sh")
    return host


def builder_repo() -> str:
    return os.environ.get("KT_TEST_BUILDER", "local/krakend-builder")


def docker_settings() -> dict[str, str]:
    # the private dockerd runs with --bridge=none: builds reach the Go module proxy on the host network
    return {"engine": "docker", "builder": builder_repo(), "pull": "never", "version": VERSION, "network": "host"}


def our_containers(client) -> list:
    return client.containers.list(all=True, filters={"label": "krakend-tasks"})


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 600,
        ) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("KRAKEND_TASKS_VERSION", None)
    return subprocess.run(args, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)


PYTHON = sys.executable


@pytest.fixture(scope="session")
def go_proxy(tmp_path_factory) -> str:
    """GOPROXY: a file:// proxy serving KrakenD CE 2.13.8's real go.mod, then the usual proxies."""
    root = tmp_path_factory.mktemp("proxy")
    versions = root / "github.com" / "krakend" / "krakend-ce" / "v2" / "@v"
    versions.mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "data" / "krakend" / "go.mod.v2.13.8", versions / "v2.13.8.mod")
    (versions / "list").write_text("v2.13.8\n")
    upstream = subprocess.run(["go", "env", "GOPROXY"], capture_output=True, text=True).stdout.strip()
    # lura and the krakend-* modules the module proxy refuses, where ../shared is beside the checkout
    refused = KRAKEND_SOURCE / "proxy"
    return ",".join(filter(None, [root.as_uri(), refused.as_uri() if refused.is_dir() else "", upstream]))


KRAKEND_SOURCE = ROOT.parent / "shared" / "krakend" / "source"
NO_KRAKEND = ("no real KrakenD: `eval \"$(bash .ci/krakend.sh)\"` compiles KrakenD CE 2.13.8 from "
              "../shared/krakend/source and exports KT_KRAKEND_DIR and KT_KRAKEND_IMAGE")


def krakend_dir() -> Path | None:
    """The folder of real KrakenD binaries (.ci/krakend.sh): KT_KRAKEND_DIR, else its newest cached build."""
    if os.environ.get("KT_KRAKEND_DIR"):
        return Path(os.environ["KT_KRAKEND_DIR"])
    cache = Path(os.environ.get("KT_CI_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
                 / "krakend-tasks-ci")
    built = [d for d in cache.glob(f"krakend-{VERSION}-*") if all((d / f"krakend-{t}").is_file() for t in EXPECTED)]
    return max(built, key=lambda d: d.stat().st_mtime) if built else None


@pytest.fixture(scope="session")
def krakend_bins(cross) -> dict[str, Path]:
    """target -> the real KrakenD CE 2.13.8 compiled for it as the official release is (.ci/krakend.sh);
    the arm64 ones run under qemu."""
    folder = krakend_dir()
    bins = {t: folder / f"krakend-{t}" for t in EXPECTED} if folder else {}
    need("krakend", bool(bins) and all(p.is_file() for p in bins.values()), NO_KRAKEND)
    return bins


@pytest.fixture(scope="session")
def krakend_image(docker_client, krakend_bins) -> str:
    """The image of the official image's shape made from the real musl KrakenD (.ci/krakend.sh)."""
    import docker

    image = os.environ.get("KT_KRAKEND_IMAGE", f"local/krakend:{VERSION}")
    try:
        docker_client.images.get(image)
    except docker.errors.ImageNotFound:
        need("krakend", False, f"KrakenD's image {image} is missing: {NO_KRAKEND}")
    return image


def krakend(bins: dict[str, Path], target: str, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    """Run the real KrakenD of `target` (arm64 under qemu, as krakend-tasks runs it)."""
    from krakend_tasks.core.krakend.runner import binary_command

    return subprocess.run([*binary_command(bins[target]), *args], capture_output=True, text=True, timeout=timeout)


def interrupt_when(proc: subprocess.Popen, ready, sig: int, what: str) -> str:
    """Send `sig` to `proc` a second after `ready()` holds (the work is under way); return its output."""
    import time

    try:
        deadline = time.monotonic() + 60
        while not ready():
            assert time.monotonic() < deadline and proc.poll() is None, f"{what} did not start"
            time.sleep(0.1)
        time.sleep(1)
        proc.send_signal(sig)
        return proc.communicate(timeout=60)[0].decode()
    finally:
        proc.kill()


def running_build_container(client) -> bool:
    # sparse: the list alone, no inspect of each (a container removed between the two is a 404)
    found = client.containers.list(all=True, filters={"label": "krakend-tasks"}, sparse=True)
    return any(c.status == "running" for c in found)


@pytest.fixture(scope="session")
def krakend_integration(krakend_bins) -> Path:
    """KrakenD's own integration harness, cmd/krakend-integration of the same source (.ci/krakend.sh)."""
    folder = krakend_dir()
    harness = Path(os.environ.get("KT_KRAKEND_INTEGRATION") or (folder / "krakend-integration" if folder else ""))
    need("krakend", harness.is_file(), f"krakend-integration is missing: {NO_KRAKEND}")
    return harness


def command_lines(mark: str) -> list[str]:
    """The command lines of this worker's processes that hold `mark` (pytest's own aside): those
    whose environment carries this worker's KT_TEST_RUN."""
    found = []
    ours = f"KT_TEST_RUN={RUN}".encode()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if mark not in cmdline or "pytest" in cmdline:
                continue
            if ours in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                found.append(cmdline)
        except OSError:  # gone, or another user's
            continue
    return found
