"""One way to run a process (engines/process.py), and the time limit of loading: a plugin whose
init() never returns gets its answer from `test` and `smoke` within the limit, nothing left running.

The blocking plugin is a real scaffolded server plugin with `func init() { select {} }`, loaded by
the Go loader, by the real KrakenD's test-plugin (which, like `krakend run`, hangs on it and
ignores SIGTERM while it does) and started by the real `krakend run`."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import krakend_tasks.engines.process as process
from krakend_tasks.core.krakend.releases import resolve
from krakend_tasks.core.project.settings import load_settings
from krakend_tasks.core.workflows.scaffold import new

from .conftest import PYTHON, VERSION, build_in, command_lines, run


def running(mark: str) -> list[str]:
    """Command lines of the processes that hold `mark`, the test's own Python script aside."""
    return [c for c in command_lines(mark) if "krakend_tasks.engines import process" not in c]


def gone(mark: str, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while running(mark) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not running(mark)


def test_output_status_and_a_time_limit():
    done = process.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert done == process.Finished(3, "out\nerr\n")
    started = time.monotonic()
    with pytest.raises(process.ProcessTimedOut):  # it ignores SIGTERM: killed, not asked
        process.run(["sh", "-c", "trap '' TERM; sleep 91 & sleep 91"], timeout=0.5)
    assert time.monotonic() - started < 3 and gone("sleep 91")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_whatever_ends_us_ends_the_childs_whole_group(sig):
    """Killed (SIGKILL: the watchdog), terminated or interrupted while a child and its own children
    run, one of which ignores SIGTERM: none of them is left."""
    script = ("import sys; from krakend_tasks.commands import terminate_as_interrupt; "
              "from krakend_tasks.engines import process\n"
              "with terminate_as_interrupt():\n"
              "    process.run(['sh', '-c', \"trap '' TERM; sleep 92 & sleep 92\"], grace=1)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while len([c for c in running("sleep 92") if c.startswith("sleep")]) < 2:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    time.sleep(0.3)  # while it works (a SIGKILL in the microseconds between a child's start and its
    proc.send_signal(sig)  # registration with the watchdog would miss it)
    proc.wait(timeout=20)
    assert gone("sleep 92"), running("sleep 92")


@pytest.fixture(scope="module")
def blocking(tmp_path_factory, cross) -> Path:
    """A scaffolded server plugin whose init() never returns, built for amd64 glibc."""
    project = tmp_path_factory.mktemp("blocking") / "stuck"
    new(project, "server", release=resolve(VERSION))
    (project / "stuck.go").write_text("package main\n\nfunc init() {\n\tselect {}\n}\n")
    build_in(load_settings(project, engine="local", targets="amd64-generic"))
    return project


@pytest.mark.parametrize("how", ["Go loader", "KrakenD's test-plugin"])
def test_a_plugin_whose_init_never_returns_gets_its_answer_within_the_limit(blocking, krakend_bins, how):
    args = [PYTHON, "-m", "krakend_tasks", "test-load", "--target", "amd64-generic", "--load-timeout", "3"]
    if how != "Go loader":
        args += ["--krakend-bin", str(krakend_bins["amd64-generic"])]
    started = time.monotonic()
    out = run(args, blocking, timeout=60)
    took = time.monotonic() - started
    assert out.returncode == 15, out.stdout + out.stderr
    assert took < 15, took
    assert "did not finish within 3 s: a plugin's init() or its registerer never returned (KrakenD would hang " \
           "the same way at start)" in out.stderr and "--load-timeout" in out.stderr
    assert "Traceback" not in out.stderr
    assert gone("stuck-2.13.8-amd64-generic.so"), running("stuck-2.13.8-amd64-generic.so")


def test_smoke_of_a_plugin_whose_init_never_returns_ends_within_the_limit(blocking, krakend_bins):
    started = time.monotonic()
    out = run([PYTHON, "-m", "krakend_tasks", "smoke", "--krakend-bin", str(krakend_bins["amd64-generic"]),
               "--load-timeout", "3"], blocking, timeout=60)
    assert out.returncode == 15, out.stdout + out.stderr
    assert time.monotonic() - started < 15
    assert "KrakenD did not answer /__health on port" in out.stderr and "within 3 s" in out.stderr
    assert gone("krakend-tasks-smoke-"), running("krakend-tasks-smoke-")
