"""`krakend-tasks`: every command of krakend_tasks.options on one command line of its own.

    krakend-tasks build --target arm64 --version 2.13
    krakend-tasks check-plugin -s go.sum -f          (KrakenD's flags and text)
    krakend-tasks --list | --help [COMMAND] | --version
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence

from krakend_tasks import __version__
from krakend_tasks.options import BY_NAME, COMMANDS, RENAMED, UsageError, parse

PROG = "krakend-tasks"


def usage() -> str:
    width = max(len(c.name) for c in COMMANDS)
    lines = [f"usage: {PROG} COMMAND [options]   ({PROG} COMMAND --help for its options)", "", "commands:"]
    lines += [f"  {c.name:<{width}}  {c.help}" for c in COMMANDS]
    lines += ["", "options:", "  -h, --help [COMMAND]  this help, or a command's",
              "  -l, --list            the commands", "  -V, --version         krakend-tasks' version"]
    return "\n".join(lines) + "\n"


def run(argv: Sequence[str]) -> int:
    """Run one command line; return the exit status (errors are printed, never raised)."""
    from krakend_tasks.errors import KrakendTasksError, described

    args = list(argv)
    if not args or args[0] in ("-h", "--help"):
        if len(args) > 1 and args[1] in BY_NAME:
            args = [args[1], "--help"]
        else:
            sys.stdout.write(usage())
            return 0 if args else 2
    if args[0] in ("-l", "--list"):
        sys.stdout.write("".join(f"{c.name}\n" for c in COMMANDS))
        return 0
    if args[0] in ("-V", "--version"):
        print(f"{PROG} {__version__}")
        return 0
    command = BY_NAME.get(args[0]) or RENAMED.get(args[0])
    if command is None:
        print(f"{PROG}: unknown command {args[0]!r} (commands: {', '.join(BY_NAME)})", file=sys.stderr)
        return 2
    try:
        given = parse(command, args[1:], prog=f"{PROG} {command.name}")
        if given is None:
            return 0
        from krakend_tasks import commands, logs

        if command.name != args[0]:
            logs.renamed(f"{PROG} {args[0]}", f"{PROG} {command.name}")
        return commands.run(command, ".", given=given)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    except KrakendTasksError as exc:
        print(described(exc), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (commands.Terminated): cleanups have run
        print(f"{PROG}: interrupted", file=sys.stderr)
        return getattr(exc, "exit_code", 128 + 2)


def main() -> None:
    """The console script. A run is short and makes little cyclic garbage, so the cycle collector
    stays off while it runs, and what it made is frozen before it exits: neither the imports nor the
    exit then walk every object (60 ms of a warm build here, docs/benchmarks.md)."""
    gc.disable()
    status = run(sys.argv[1:])
    gc.freeze()
    sys.exit(status)
