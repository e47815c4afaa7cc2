"""Every child process krakend-tasks starts, started one way (the only user of `subprocess`).

Each child gets its own process group (a new session, stdin from /dev/null), and whatever way we
leave it, that whole group is gone afterwards:
- it finished: the group is killed (what it left behind, such as a compiler's helpers, goes too);
- Ctrl-C or SIGTERM (KeyboardInterrupt, see commands.terminate_as_interrupt): SIGTERM to the
  group, SIGKILL after a grace time;
- its time limit passed: SIGKILL to the group (a process past its limit is stuck: KrakenD's
  test-plugin ignores SIGTERM while a plugin's init() blocks), then ProcessTimedOut;
- we were killed, SIGKILL included: one watchdog per krakend-tasks process (a `sh` reading a pipe
  only we hold, which the kernel closes when we die) kills every group still registered with it.
No `preexec_fn`: it is unsafe once a thread runs (the smoke run's echo backend is one).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from krakend_tasks import logs

GRACE = 5.0  # seconds between SIGTERM and SIGKILL when interrupted
Log = Callable[[str], None]


class Finished(NamedTuple):
    status: int
    output: str  # stdout and stderr, as they came


class ProcessTimedOut(Exception):
    """The child ran past its time limit; it and its group were killed."""

    def __init__(self, args: Sequence[str], seconds: float, output: str) -> None:
        super().__init__(f"{args[0]} ran longer than {seconds:g} s")
        self.seconds, self.output = seconds, output


def run(args: Sequence[str | Path], *, cwd: str | Path | None = None, env: Mapping[str, str] | None = None,
        timeout: float | None = None, log: Log | None = None, grace: float = GRACE) -> Finished:
    """Run `args` to completion: its exit status and output (each line also passed to `log` as it
    comes). OSError when it cannot start; ProcessTimedOut past `timeout` seconds."""
    with started(args, cwd=cwd, env=env, log=log, grace=grace) as child:
        try:
            status = child.proc.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            child.kill()
            raise ProcessTimedOut([str(a) for a in args], timeout or 0, child.output()) from exc
    return Finished(status, child.output())


class Child:
    """A started child: its process, and its output lines so far (collected by a thread)."""

    def __init__(self, proc: subprocess.Popen[str], log: Log | None) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._log = log
        self._reader = threading.Thread(target=self._collect, daemon=True)
        self._reader.start()

    def _collect(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if self._log:
                self._log(logs.output(line.rstrip("\n")))

    def poll(self) -> int | None:
        return self.proc.poll()

    def output(self) -> str:
        self._reader.join(timeout=2)
        return "".join(line + "\n" for line in self.lines)

    def kill(self) -> None:
        _signal_group(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self, grace: float) -> None:
        """SIGTERM to the group, SIGKILL after `grace` seconds (or at once when it already ended)."""
        if self.proc.poll() is None:
            _signal_group(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(grace)
        self.kill()  # the rest of its group, if any is left


@contextlib.contextmanager
def started(args: Sequence[str | Path], *, cwd: str | Path | None = None, env: Mapping[str, str] | None = None,
            log: Log | None = None, grace: float = GRACE) -> Iterator[Child]:
    """`args` running while the block runs; its group stopped and reaped on every way out."""
    if log:
        log(logs.detail("$ " + shlex.join(str(a) for a in args)))
    _guard.ready()  # before the child exists: a death between its start and its registration is rare, not slow
    proc = subprocess.Popen([str(a) for a in args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                            start_new_session=True)
    child = None
    try:
        _guard.register(proc.pid)
        child = Child(proc, log)
        yield child
    except BaseException:
        (child or Child(proc, None)).stop(grace)
        raise
    finally:
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait()
        _guard.unregister(proc.pid)
        if child:
            child.output()
        if proc.stdout:
            proc.stdout.close()


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


class _Guard:
    """The watchdog of this process's children: groups registered with it are killed if we die."""

    SCRIPT = ('g=""; while IFS= read -r l; do case $l in +*) g="$g ${l#+}";; -*) n=""; '
              'for p in $g; do [ "$p" = "${l#-}" ] || n="$n $p"; done; g=$n;; esac; done; '
              'for p in $g; do kill -9 "-$p" 2>/dev/null; done')

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._pid = 0  # the process that started the watchdog (a fork needs its own)

    def ready(self) -> None:
        with self._lock:
            if self._fd is None or self._pid != os.getpid():
                self._start()

    def register(self, pid: int) -> None:
        self._say(f"+{pid}\n")

    def unregister(self, pid: int) -> None:
        self._say(f"-{pid}\n")

    def _say(self, line: str) -> None:
        with self._lock:
            if self._fd is None or self._pid != os.getpid():
                self._start()
            with contextlib.suppress(OSError):  # the watchdog is gone (killed by hand): nothing to tell
                os.write(self._fd, line.encode())  # type: ignore[arg-type]

    def _start(self) -> None:
        read_end, self._fd = os.pipe()  # not inherited by other children: only the watchdog reads it
        self._pid = os.getpid()
        try:
            subprocess.Popen(["sh", "-c", self.SCRIPT], stdin=read_end, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        finally:
            os.close(read_end)


_guard = _Guard()


def watchdog(script: str) -> Callable[[], None]:
    """Run the shell `script` if this process dies, SIGKILL included (a container's removal): a `sh`
    waits on a pipe only we hold. Returns `disarm`, which stops the watchdog without running the
    script (call it once the work is cleaned up)."""
    read_end, write_end = os.pipe()
    try:
        guard = subprocess.Popen(["sh", "-c", f"read _ || {{ {script}; }}"], stdin=read_end, start_new_session=True,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finally:
        os.close(read_end)

    def disarm() -> None:
        guard.kill()
        guard.wait()
        os.close(write_end)

    return disarm
