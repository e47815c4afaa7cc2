"""A hostile environment: damaged caches, a full disk, a lock held by another run, Docker hosts
that cannot be reached or never answer. Each ends with a right answer or one clear message."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from krakend_tasks.core.files import locked
from krakend_tasks.core.krakend import fingerprints as krakend_fingerprints
from krakend_tasks.core.project.settings import load_settings
from krakend_tasks.core.targets import parse_target
from krakend_tasks.core.verifying.testload import build_loader, load_local

from .conftest import PYTHON, VERSION, build_in, copy_example, run


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "krakend-tasks"


def test_damaged_cache_entries_are_read_again(cache, krakend_bins, tmp_path):
    binary = krakend_bins["amd64-generic"]
    project = copy_example(tmp_path / "hello")
    check = [PYTHON, "-m", "krakend_tasks", "check", "--krakend-bin", str(binary), "--target", "amd64-generic",
             "--format", "json"]
    first = run(check, project)
    [deps] = (cache / "deps").glob("binary-sha256-*.json")
    for damage in ("{", '{"go": 1}'):
        deps.write_text(damage)
        again = run(check, project)
        assert (again.returncode, again.stdout) == (first.returncode, first.stdout), again.stderr
        assert json.loads(deps.read_text())["deps"]  # written anew

    whole = krakend_fingerprints.from_binary(binary)
    [table] = (cache / "fingerprints").glob("sha256-*.tsv")
    lines = table.read_text().splitlines()
    table.write_text("\n".join(lines[: len(lines) // 2]) + "\n")  # cut short, as by a full disk
    assert krakend_fingerprints.from_binary(binary).packages == whole.packages
    assert table.read_text().splitlines() == lines


def test_a_cut_loader_is_built_again_and_a_good_plugin_stays_ok(cache, cross, tmp_path):
    settings = load_settings(copy_example(tmp_path / "hello"), engine="local", version=VERSION,
                             targets="amd64-generic")
    [artifact] = build_in(settings)
    recipe, plugin = settings.recipe(parse_target("amd64-generic")), settings.dist_dir / artifact.path
    loader = build_loader(recipe, settings.release)
    data = loader.read_bytes()
    loader.write_bytes(data[: len(data) // 3])
    result = load_local([plugin], ["server"], recipe, settings.release)
    assert result.ok, result.output
    assert loader.read_bytes() == data  # built again, whole


def test_a_run_waiting_for_a_lock_says_for_whom(cache, tmp_path):
    project = copy_example(tmp_path / "hello")
    config = project / "krakend.json"
    with locked(config):
        proc = subprocess.Popen([PYTHON, "-m", "krakend_tasks", "configure", "--type", "server", "--name", "other"],
                                cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        first = proc.stderr.readline()
    out, err = proc.communicate(timeout=60)
    assert first.startswith(f"waiting up to 300 s for {config}: krakend-tasks (pid {os.getpid()}, for "), first
    assert proc.returncode == 0 and "other" in config.read_text(), out + err


@pytest.fixture
def full_disk(tmp_path):
    """A 64 KB tmpfs, filled but for the few files a case puts there first."""
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")

    def fill() -> None:
        with (mount / "filler").open("wb") as f, pytest.raises(OSError):
            f.write(b"\0" * (1 << 20))
            f.flush()
            os.fsync(f.fileno())

    try:
        yield mount, fill
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_is_said_and_loses_nothing(full_disk, krakend_bins, tmp_path):
    mount, fill = full_disk
    project = mount / "hello"
    project.mkdir()
    for name in ("go.mod", "go.sum"):
        shutil.copy(Path(__file__).resolve().parents[1] / "examples" / "hello-plugin" / name, project / name)
    (project / "krakend.json").write_text('{"version": 3, "endpoints": []}\n')
    fill()
    before = (project / "krakend.json").read_bytes()
    for argv, leftover in ((["configure", "--type", "server", "--name", "hello"], "krakend.json.bak"),
                           (["new", "--type", "server", "--name", "fresh"], "fresh")):
        out = run([PYTHON, "-m", "krakend_tasks", *argv], project)
        assert out.returncode == 14 and "the disk is full" in out.stderr and "Traceback" not in out.stderr, out.stderr
        assert (project / "krakend.json").read_bytes() == before and not (project / leftover).exists()
        assert sorted(p.name for p in project.iterdir()) == ["go.mod", "go.sum", "krakend.json"]
    # a cache on a full disk: the answer is the same, only the next run is slower
    out = run([PYTHON, "-m", "krakend_tasks", "check", "--krakend-bin", str(krakend_bins["amd64-generic"]),
               "--target", "amd64-generic", "--format", "json"], project, {"XDG_CACHE_HOME": str(mount / "cache")})
    reports = json.loads(out.stdout)["reports"]
    assert out.returncode in (0, 1) and reports["amd64-generic"]["krakend_go"] == "1.25.12", out.stderr


@pytest.mark.slow
def test_docker_hosts_that_cannot_serve(tmp_path):
    project = copy_example(tmp_path / "hello")
    build = [PYTHON, "-m", "krakend_tasks", "build", "--engine", "docker", "--target", "amd64-generic"]
    out = run(build, project, {"DOCKER_HOST": "tcp://[bad"})
    assert out.returncode == 4 and "DOCKER_HOST=tcp://[bad is not a Docker address" in out.stderr, out.stderr
    silent = socket.socket(socket.AF_UNIX)
    silent.bind(str(tmp_path / "silent.sock"))
    silent.listen(8)  # accepts, never answers
    held: list = []
    threading.Thread(target=lambda: held.extend(silent.accept() for _ in range(8)), daemon=True).start()
    started = time.monotonic()
    out = run(build, project, {"DOCKER_HOST": f"unix://{tmp_path / 'silent.sock'}"})
    assert out.returncode == 4 and "no Docker daemon answers" in out.stderr, out.stderr
    assert time.monotonic() - started < 30


@pytest.fixture
def ssh_engine(tmp_path, docker_client):
    """DOCKER_HOST=ssh://root@127.0.0.1:PORT: a real sshd whose sessions reach this engine, the way
    an arm64 build machine is reached over SSH; its host key known, ours authorized."""
    from .conftest import need

    sshd = shutil.which("sshd") or "/usr/sbin/sshd"
    need("docker", Path(sshd).is_file(), "no sshd: .ci/setup-host.sh installs openssh-server")
    home, keys = tmp_path / "home", tmp_path / "sshd"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    keys.mkdir()
    for key in (home / ".ssh" / "id_ed25519", keys / "host"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    shutil.copy(home / ".ssh" / "id_ed25519.pub", keys / "authorized_keys")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (keys / "config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {keys / 'host'}\n"
        f"AuthorizedKeysFile {keys / 'authorized_keys'}\n"
        f"PermitRootLogin prohibit-password\nPasswordAuthentication no\nStrictModes no\nUsePAM no\n"
        f"PidFile {keys / 'pid'}\nSetEnv DOCKER_HOST={os.environ.get('DOCKER_HOST', 'unix:///var/run/docker.sock')}\n")
    (home / ".ssh" / "known_hosts").write_text(f"[127.0.0.1]:{port} {(keys / 'host.pub').read_text()}")
    Path("/run/sshd").mkdir(exist_ok=True)
    daemon = subprocess.Popen([sshd, "-D", "-e", "-f", str(keys / "config")], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            assert daemon.poll() is None and time.monotonic() < deadline, "sshd did not start"
            time.sleep(0.1)
        yield {"HOME": str(home), "DOCKER_HOST": f"ssh://root@127.0.0.1:{port}"}
    finally:
        daemon.terminate()
        daemon.wait()


def test_a_build_on_an_engine_reached_over_ssh_loads_in_krakend(ssh_engine, krakend_bins, tmp_path):
    from .conftest import docker_settings, krakend

    project = copy_example(tmp_path / "hello")
    settings = docker_settings()
    out = run([PYTHON, "-m", "krakend_tasks", "build", "--engine", "docker", "--builder", settings["builder"],
               "--pull", "never", "--network", "host", "--version", VERSION, "--target", "amd64-generic"], project,
              ssh_engine)
    assert out.returncode == 0, out.stderr[-3000:]
    plugin = project / "dist" / f"hello-{VERSION}-amd64-generic.so"
    loaded = krakend(krakend_bins, "amd64-generic", "test-plugin", "-s", str(plugin))
    assert loaded.returncode == 0 and f"[OK] SERVER\t{plugin.name}\n" in loaded.stderr, loaded.stderr
    refused = run([PYTHON, "-m", "krakend_tasks", "build", "--engine", "docker", "--target", "amd64-generic"], project,
                  {**ssh_engine, "HOME": str(tmp_path)})  # no key, no known host
    assert refused.returncode == 4 and "no Docker daemon answers at ssh://" in refused.stderr, refused.stderr
