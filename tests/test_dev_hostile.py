"""dev under hostile conditions, each reproduced for real with the loop running on the real KrakenD:
editors' temporary files, the config deleted or replaced by a folder, the project removed under the
loop, a storm of saves, a plugin that kills KrakenD on its first request, a link loop in the project."""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import signal
import subprocess
import time

import pytest

from krakend_tasks.core.serving.gateway import free_port

from .test_dev import EDITS, Loop, dev_krakends, get
from .test_dev import scaffold as scaffold

DEBOUNCE_MS = 50  # the loop's, in these tests


def quiet_for(loop: Loop, seconds: float) -> list[dict]:
    """The events of the next `seconds` (none expected)."""
    found = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(queue.Empty):
            found.append(loop.events.get(timeout=max(0.05, deadline - time.monotonic())))
    return found


@pytest.fixture
def running(scaffold, krakend_bins):
    """A server scaffold's loop, built, serving and checked."""
    project = scaffold("server")
    port = free_port()
    loop = Loop(project, "--krakend-bin", str(krakend_bins["amd64-generic"]), "--engine", "local", "--port",
                str(port), "--debounce", str(DEBOUNCE_MS))
    assert loop.until("checks")["ok"], loop.seen
    yield project, port, loop
    if loop.proc.poll() is None:
        assert loop.stop(signal.SIGTERM) == 0, loop.stderr()
    assert dev_krakends() == []


def test_editors_temporary_files_neither_build_nor_show(running):
    project, port, loop = running
    subprocess.run(["sed", "-i", "s/hello from/howdy from/", "main.go"], cwd=project, check=True)
    change = loop.until("change")
    assert change["details"] == [str(project / "main.go")], change  # sed's sedXXXXXX: not listed
    assert loop.until("krakend")["ok"]
    assert get(port, "/__dev-server").strip() == "howdy from dev-server"
    for name in (".main.go.swp", ".main.go.swx", "4913", "main.go~", "main.go___jb_tmp___", "main.go___jb_old___",
                 ".#main.go", "#main.go#"):
        (project / name).write_text("x")
        (project / name).unlink()
    assert [e for e in quiet_for(loop, 1.5) if e["kind"] in ("change", "build")] == []
    main = project / "main.go"  # JetBrains' safe write: a temporary beside it, renamed over it
    (project / "main.go___jb_tmp___").write_text(main.read_text().replace("howdy from", "hello from"))
    os.replace(project / "main.go___jb_tmp___", main)
    change = loop.until("change")
    assert change["details"] == [str(main)], change
    assert loop.until("krakend")["ok"]


def test_the_config_deleted_or_replaced_by_a_folder_is_said_and_the_gateway_kept(running):
    project, port, loop = running
    config = project / "krakend.json"
    saved = config.read_text()
    config.unlink()
    said = loop.until("config")
    assert not said["ok"] and "does not exist" in said["message"], said
    assert get(port, "/__dev-server").strip() == "hello from dev-server"  # the old gateway serves
    config.mkdir()
    said = loop.until("config")
    assert not said["ok"] and "Is a directory" in said["message"], said
    config.rmdir()
    config.write_text(saved)
    assert loop.until("krakend")["ok"]


def test_the_project_removed_under_the_loop_stops_it_clearly(running):
    project, _, loop = running
    shutil.rmtree(project)
    assert loop.proc.wait(timeout=60) == 2
    stop = loop.until("stop")
    assert "the project folder" in stop["message"] and "is gone" in stop["message"], loop.seen[-4:]
    assert dev_krakends() == []


def test_a_thousand_saves_in_a_second_build_once_or_twice(running):
    project, port, loop = running
    main = project / "main.go"
    text = main.read_text()
    started = last = time.monotonic()
    pauses = 0  # a pause longer than the debounce (a busy machine stalls the writer) ends a burst
    for i in range(1000):
        main.write_text(text.replace("hello from", f"save {i} from"))
        pauses += time.monotonic() - last > DEBOUNCE_MS / 1000
        last = time.monotonic()
    assert time.monotonic() - started < 5
    builds = []
    while True:
        event = loop.until("krakend")
        builds += [e for e in loop.seen if e["kind"] == "build"]
        if get(port, "/__dev-server").strip() == "save 999 from dev-server":
            break
    # one burst: built once or twice (a build that starts mid-burst, then the last save's); each pause
    # of the writer is a burst of its own, and so is a stall of the watcher past the debounce, which the
    # writer does not see (other tests run beside this one): a few builds, never one a save
    assert len([e for e in loop.seen if e["kind"] == "build"]) <= 6 * (1 + pauses), [e["message"] for e in loop.seen]
    assert event["ok"]


def test_a_plugin_that_kills_krakend_on_its_first_request_is_said_and_the_loop_goes_on(running):
    project, port, loop = running
    main = project / "main.go"
    text = main.read_text()
    main.write_text(text.replace('fmt.Fprintf(w, "hello from %s\\n", pluginName)', "os.Exit(3)").replace(
        'import (\n', 'import (\n\t"os"\n'))
    said = loop.until("krakend")
    assert said["ok"]  # it starts; the first request kills it
    died = loop.until("krakend")
    assert not died["ok"] and "KrakenD exited with status 3" in died["message"], died
    assert loop.proc.poll() is None  # still watching
    main.write_text(text)
    assert loop.until("krakend")["ok"]
    assert get(port, "/__dev-server").strip() == "hello from dev-server"


def test_a_link_loop_in_the_project_neither_stops_nor_slows_the_loop(running):
    project, port, loop = running
    (project / "a").symlink_to("b")
    (project / "b").symlink_to("a")
    (project / "dir").mkdir()
    (project / "dir" / "self").symlink_to("..")
    main = project / "main.go"
    main.write_text(main.read_text().replace(*EDITS["server"]))
    assert loop.until("krakend")["ok"], loop.seen[-3:]
    assert get(port, "/__dev-server").strip() == "howdy from dev-server"
