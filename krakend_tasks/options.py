"""Every command's options, declared once. The nox sessions, the invoke tasks, the `krakend-tasks`
command line and the options table of docs/sessions-and-tasks.md are all derived from `COMMANDS`.

An option's `dest` is the keyword of the `krakend_tasks.commands` function it feeds; the options of
the settings (declared in core/project/setting_table.py) feed the project settings (core/project/settings.py)
through those functions' **settings.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn

from krakend_tasks.core.plugin_types import NAMES
from krakend_tasks.core.project.setting_table import SETTINGS as TABLE
from krakend_tasks.core.project.setting_table import Setting

if TYPE_CHECKING:
    from krakend_tasks.core.targets import Target

PLUGIN_TYPES = NAMES
FORMATS = ("table", "json", "krakend", "github")  # check --format


class Option(NamedTuple):
    name: str  # the long flag without dashes, with dashes: "krakend-bin"
    help: str
    dest: str = ""  # the command function's keyword (default: name with underscores)
    takes: str = "str"  # str | int | float | bool | list | switch (--x / --no-x, None when not given)
    choices: tuple[str, ...] = ()
    short: str = ""  # "-s": the drop-in commands keep KrakenD's flags; -q and -v
    positional: bool = False  # nox and the CLI take these as trailing arguments (invoke: --path)
    metavar: str = ""

    @property
    def keyword(self) -> str:
        return self.dest or self.name.replace("-", "_")

    @property
    def flag(self) -> str:
        return f"--{self.name}"


class Command(NamedTuple):
    """One command, declared once: the CLI, the nox sessions, the invoke tasks and the docs' options
    table are all made from it."""

    name: str  # as the CLI and invoke say it: "check-plugin"
    function: str  # in krakend_tasks.commands
    help: str
    options: tuple[Option, ...] = ()
    settings: bool = True  # takes the settings' options too
    only: tuple[str, ...] = ()  # of those, only these (the drop-ins: what applies to KrakenD's commands)
    old_names: tuple[str, ...] = ()  # names it had before: they still work, and say the new one
    failure: str = "failed"  # what its status 1 means (nox says it)
    session: str = ""  # its nox session (default: the name with underscores)
    per_target: str = ""  # "target": also a session per target; "arch": per architecture and per target
    old_sessions: tuple[str, ...] = ()  # nox names it had before (and, per target, `<old>_<target>`)

    @property
    def session_name(self) -> str:
        return self.session or self.name.replace("-", "_")

    def implementation(self) -> Callable[..., int]:
        """The function that runs it: `function` of krakend_tasks.commands, or "module:function"."""
        import importlib

        module, _, name = self.function.rpartition(":")
        return getattr(importlib.import_module(module or "krakend_tasks.commands"), name)  # type: ignore[no-any-return]

    def all_options(self) -> tuple[Option, ...]:
        if not self.settings:
            return (*self.options, *OUTPUT)
        return (*self.options, *(o for o in setting_options() if not self.only or o.name in self.only), *OUTPUT)


def setting_option(setting: Setting) -> Option:
    """The option of a declared setting (core/project/setting_table.py)."""
    name = setting.option or setting.key
    return Option(name, setting.help, dest="" if name.replace("-", "_") == setting.key else setting.key,
                  takes=setting.takes, choices=setting.choices, metavar=setting.metavar)


def setting_options() -> tuple[Option, ...]:
    """The options of every declared setting that has one: each command but `new` takes them."""
    return tuple(setting_option(s) for s in TABLE if s.option is not None)


VERSION = setting_option(next(s for s in TABLE if s.key == "version"))
OUTPUT = (  # every command's: how much is said on stderr (krakend_tasks.logs)
    Option("quiet", "say only warnings and errors on stderr (a failed build's output comes with its error)",
           takes="bool", short="-q"),
    Option("verbose", "also say the commands run and each layer pushed", takes="bool", short="-v"),
)
JSON = Option("json", "machine-readable output (JSON)", takes="bool")
FORMAT = Option("format", "table (default), json, or github: GitHub Actions annotations on the files and lines at "
                          "fault (the default when GITHUB_ACTIONS=true)", dest="output",
                choices=("table", "json", "github"))
JUNIT = Option("junit", "also write the results as JUnit XML to FILE (its folder must exist)", metavar="FILE")
KRAKEND_BIN = Option("krakend-bin", "a KrakenD binary: compare with it / load in it / check the config with it (with "
                                    "--edition ee: your EE binary, the source of Enterprise's Go and modules)",
                     metavar="PATH")
IMAGE = Option("image", "a KrakenD image: its binary's modules and fingerprints (build, check, inspect), test-plugin "
                        "(test), check -c (configure; with --edition ee: your EE image)", metavar="IMAGE")
LOAD_TIMEOUT = Option("load-timeout", "seconds loading the plugins may take, KrakenD's start included (default 30): "
                                     "a plugin's init() that never returns ends there", takes="float", metavar="S")
GATEWAY = (  # what the gateway runs: smoke, dev and bench
    Option("config", "the krakend.json to run (default: krakend.json)", metavar="FILE"),
    Option("krakend-bin", "a KrakenD binary to run (the plugins of its target)", metavar="PATH"),
    Option("image", "a KrakenD image to run (default: KRAKEND-IMAGE:VERSION; the host's alpine plugins)",
           metavar="IMAGE"),
)
REQUEST_TIMEOUT = Option("request-timeout", "seconds each request may take (default 10)", takes="float", metavar="S")
PATHS = Option("path", ".so files (default: the artifacts of dist/manifest.json)", dest="paths", takes="list",
               positional=True, metavar="PATH")
TYPES = Option("type", "plugin type: server, client, modifier or middleware (default: what the file exports)",
               dest="kinds", takes="list", choices=PLUGIN_TYPES)

# what KrakenD's commands depend on
DROP_IN_SETTINGS = ("version", "edition", "target", "krakend-image", "pull", "modcache")
COMMANDS: list[Command] = [
    Command("build", "build", "Build the KrakenD plugin for the selected targets into dist/.", per_target="arch",
            options=(
        JSON, FORMAT,
        Option("keep-unloadable", "keep a build whose packages differ from KrakenD's (it will not load); without "
                                  "it such a build fails and is removed", takes="bool"),
        KRAKEND_BIN, IMAGE,
    )),
    Command("check", "check", "Check go.sum, Go and libc against a KrakenD release (as check-plugin, and more).",
            failure="the plugin is not compatible with this KrakenD release", options=(
        Option("format", "table (default), json, krakend (KrakenD's own check-plugin text), or github (annotations "
                         "on go.mod's lines; the default when GITHUB_ACTIONS=true)", dest="output", choices=FORMATS),
        JUNIT,
        Option("fix", "print the commands that fix module differences (KrakenD's -f)", takes="bool"),
        Option("apply", "make the modules KrakenD's (all requirements at once, then go mod tidy), check again, repeat "
                        "until compatible or no progress; a fix go refuses is named with the command to run by hand",
               takes="bool"),
        Option("go", "Go version the plugin is built with (default: the release's)", metavar="V"),
        Option("libc", "libc string the plugin is built with (default: the target's)", metavar="S"),
        KRAKEND_BIN, IMAGE,
    )),
    Command("inspect", "inspect", "Describe built plugins without loading them, and predict load failures.",
            (PATHS, TYPES, JSON, FORMAT, KRAKEND_BIN, IMAGE),
            failure="the preflight found a plugin that will not load"),
    Command("test-load", "test_load", "Load built plugins for real and compare their packages with KrakenD's.",
            (PATHS, TYPES, JSON, FORMAT, JUNIT, KRAKEND_BIN, IMAGE, LOAD_TIMEOUT), old_names=("test",),
            failure="a plugin does not load", per_target="target", old_sessions=("test_plugin",)),
    Command("new", "new", "Scaffold a plugin project that builds, checks and loads with these tasks.", (
        Option("type", "server, client, modifier, or middleware (KrakenD Enterprise: its project says edition = "
                       "\"ee\")", dest="kind", choices=PLUGIN_TYPES),
        Option("name", "the plugin's name (lower case, digits, dashes)", metavar="NAME"),
        Option("dest", "folder to create (default: ./NAME); it must not exist or be empty", metavar="DIR"),
        Option("module", "Go module path (default: example.com/krakend-plugins/NAME)", metavar="PATH"),
        VERSION,
        Option("versions", "build for several releases: the `version` setting to write, e.g. '>=2.12' (go.mod then "
                           "names the oldest one's Go; the CI workflow builds each)", metavar="SPEC"),
        Option("krakend-bin", "a KrakenD binary that lints the new krakend.json (krakend check -n -c; default: "
                              "krakend on PATH)", metavar="PATH"),
        Option("image", "a KrakenD image that lints the new krakend.json", metavar="IMAGE"),
    ), settings=False),
    Command("configure", "configure", "Add the plugin to krakend.json: atomic, with a .bak, idempotent.", (
        Option("config", "the krakend.json to edit (default: the project's)", metavar="FILE"),
        Option("type", "server, client, modifier or middleware (default: what the built plugin exports)",
               dest="kind", choices=PLUGIN_TYPES),
        Option("name", "the plugin's name (default: the module's last element)", metavar="NAME"),
        Option("endpoint", "endpoint path, for client, modifier and middleware plugins", metavar="PATH"),
        Option("method", "the endpoint's method, when several share the path", metavar="M"),
        Option("backend", "backend index (0-based): where a client goes; puts a modifier or a middleware on the "
                          "backend", takes="int", metavar="I"),
        Option("folder", "plugin folder KrakenD reads (default /opt/krakend/plugins/)", metavar="DIR"),
        Option("pattern", "file-name pattern KrakenD loads (default .so)", metavar="P"),
        Option("settings", "the plugin's own configuration, as JSON", dest="plugin_settings", metavar="JSON"),
        Option("validate", "check every plugin name the config uses against the plugins in dist/", takes="bool"),
        Option("plugins", "folder of plugins to validate against (default: dist)", dest="plugins_dir", metavar="DIR"),
        KRAKEND_BIN, IMAGE,
    ), failure="the configuration uses a plugin nothing provides, or KrakenD rejects it"),
    Command("ship", "ship", "Write a Dockerfile of KrakenD's image with the plugin and config; build it.", (
        Option("config", "the krakend.json to ship (default: krakend.json)", metavar="FILE"),
        Option("force", "replace a Dockerfile krakend-tasks did not write", takes="bool"),
        Option("build", "build the image (default: when a Docker daemon answers); --no-build only writes it",
               takes="switch"),
        Option("tag", "image reference (default: NAME-krakend:VERSION); several architectures are tagged "
                      "TAG-ARCH, and with --push one manifest list is TAG", metavar="TAG"),
        Option("arch", "architectures: amd64, arm64, amd64,arm64 or all (default: the first alpine build)",
               metavar="ARCH"),
        Option("push", "push each architecture's image, then one manifest list over them, to the registry the "
                       "tag names (Docker's credentials: docker login)", takes="bool"),
    )),
    Command("smoke", "smoke", "Run the built plugins in the real KrakenD and send the declared [[smoke]] requests.", (
        *GATEWAY,
        Option("shipped", "run the image `ship` built (--tag, default NAME-krakend:VERSION)", takes="bool"),
        Option("tag", "the image `ship` built, with --shipped", metavar="TAG"),
        Option("keep-backends", "keep the config's backend hosts (default: an echo backend on loopback)",
               takes="bool"),
        Option("specs", "a folder of KrakenD integration specs (*.json, krakend-integration's format), relative to "
                        "the project (default: the smoke_specs setting)", dest="smoke_specs", metavar="DIR"),
        REQUEST_TIMEOUT,
        LOAD_TIMEOUT,
        Option("no-follow-redirects", "judge a redirect itself, do not follow it (as krakend-integration's "
                                      "-client_not_follow_redirects)", takes="bool"),
        FORMAT,
        Option("junit", "also write the results as JUnit XML (one testcase per spec) to FILE", metavar="FILE"),
        JSON,
    ), failure="the smoke run failed"),
    Command("dev", "dev", "The development loop: build, run KrakenD and the specs; on every save, again.", (
        *GATEWAY,
        Option("port", "the port KrakenD listens on (default: the config's)", takes="int", metavar="N"),
        Option("debounce", "milliseconds a burst of saves is waited out (default 100)", takes="int", metavar="MS"),
        Option("keep-backends", "keep the config's backend hosts (default: an echo backend on loopback)",
               takes="bool"),
        REQUEST_TIMEOUT,
        LOAD_TIMEOUT,
        Option("plain", "a line per event (the default when not a terminal)", takes="bool"),
        Option("json", "a JSON object per event", takes="bool"),
    )),
    Command("bench", "bench", "What the plugins cost: the same KrakenD with and without them, under one load.", (
        *GATEWAY,
        Option("baseline", "the config of the baseline arm (default: the config without this project's plugins), "
                           "e.g. the same behaviour in Lua", metavar="FILE"),
        Option("path", "a path to send GET requests to (repeatable; default: the [[smoke]] requests, the specs and "
                       "the config's GET endpoints that both arms answer alike)", dest="paths", takes="list",
               metavar="PATH"),
        Option("rate", "requests per second to each arm (default: 30% of what the baseline answers flat out)",
               takes="int", metavar="N"),
        Option("rounds", "paired rounds, each arm once per round in ABBA order (default 6)", takes="int",
               metavar="N"),
        Option("duration", "seconds of load per arm and round (default 3)", takes="float", metavar="S"),
        Option("max-overhead", "the budget: a time (1ms, 250us) or a share of the baseline (5%), held against the "
                               "p50 and p99 overhead: pass, fail (exit 1) or inconclusive", metavar="BUDGET"),
        Option("plot", "also draw both latency distributions to FILE (.svg, or .html)", metavar="FILE"),
        REQUEST_TIMEOUT,
        LOAD_TIMEOUT, FORMAT, JUNIT, JSON,
    ), failure="the plugins are over the budget, or the arms' error rates differ"),
    Command("explain", "explain", "What KrakenD's log lines about plugins mean: the cause, the fix, the proof.", (
        Option("line", "KrakenD's log lines (default: --log, or standard input)", dest="lines", takes="list",
               positional=True, metavar="LINE"),
        Option("log", "a KrakenD log to read (`krakend run` output, `docker logs` output; - for standard input)",
               metavar="FILE"),
        Option("path", "the plugin the log is about: its packages compared with KrakenD's for the exact module and "
                       "versions", metavar="PLUGIN.so"),
        KRAKEND_BIN, IMAGE, FORMAT, JSON,
    ), only=DROP_IN_SETTINGS, failure="the log says a plugin failed"),
    Command("matrix", "matrix", "Print the targets as a GitHub Actions matrix (include form).", (JSON,)),
    Command("check-plugin", "check_plugin", "KrakenD's `check-plugin`, exactly, against a release (no KrakenD).", (
        Option("sum", "the plugin's go.sum (default ./go.sum)", short="-s", metavar="FILE"),
        Option("go", "Go version the plugin is built with (default: KrakenD's own)", short="-g", metavar="V"),
        Option("libc", "libc string the plugin is built with (default: empty)", short="-l", metavar="S"),
        Option("format", "print the commands that fix module differences", dest="fix", takes="bool", short="-f"),
        KRAKEND_BIN,
    ), only=DROP_IN_SETTINGS, failure="KrakenD's check found incompatibilities", session="krakend_check_plugin"),
    Command("test-plugin", "test_plugin", "KrakenD's `test-plugin` output for plugin files (no KrakenD).", (
        Option("server", "the artifact should contain a Server Plugin", takes="bool", short="-s"),
        Option("client", "the artifact should contain a Client Plugin", takes="bool", short="-c"),
        Option("modifier", "the artifact should contain a Req/Resp Modifier Plugin", takes="bool", short="-m"),
        Option("plugin", "plugin files", dest="paths", takes="list", positional=True, metavar="PLUGIN"),
        KRAKEND_BIN,
    ), only=DROP_IN_SETTINGS, failure="a plugin does not load", session="krakend_test_plugin"),
]
BY_NAME = {c.name: c for c in COMMANDS}
RENAMED = {old: c for c in COMMANDS for old in c.old_names}  # an old name: the command it now is


def declare(command: Command) -> Command:
    """Add a command: its declaration is all the CLI, the nox sessions, the invoke collections and
    the docs' options table need (`function` names one in krakend_tasks.commands, or is
    "module:function" for a command of one's own)."""
    if command.name in BY_NAME or command.name in RENAMED:
        raise ValueError(f"a command named {command.name!r} exists")
    COMMANDS.append(command)
    BY_NAME[command.name] = command
    RENAMED.update(dict.fromkeys(command.old_names, command))
    return command


def session_names(target: Target, prefix: str = "") -> dict[str, str]:
    """The nox sessions that build and load one target, as register(prefix=...) names them; the CI
    matrix's rows run them."""
    return {f"{kind}_session": f"{prefix}{BY_NAME[name].session_name}_{target.ident}"
            for kind, name in (("build", "build"), ("test", "test-load"))}


REPEATED = "__as_option"


class UsageError(Exception):
    """A command line that does not fit the command: one line naming the problem and the valid options."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse would print usage and exit
        import re

        from krakend_tasks.errors import did_you_mean

        if message.startswith("unrecognized arguments"):
            flags = [f for a in self._actions for f in a.option_strings]
            valid = ", ".join(a.option_strings[-1] for a in self._actions if a.option_strings)
            near = did_you_mean(message.split(": ", 1)[1].split()[0].split("=")[0], flags)
            message = f"{message} ({near + ' ' if near else ''}valid options: {valid})"
        elif choice := re.search(r"argument (--[\w-]+).*invalid choice: '(.*?)' \(choose from (.*)\)$", message):
            declared = next((s for s in TABLE if s.option == choice.group(1)[2:]), None)
            near = (declared.near(choice.group(2)) if declared
                    else did_you_mean(choice.group(2), re.findall(r"'(.*?)'", choice.group(3))))
            message += f"; {near}" if near else ""
        raise UsageError(f"{self.prog}: {message}")


def parser(command: Command, prog: str) -> argparse.ArgumentParser:
    """An argparse parser of the command's options (nox sessions and the CLI)."""
    p = _Parser(prog=prog, description=command.help, add_help=False, allow_abbrev=False,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-h", "--help", action="store_true", help="show this help")
    for o in command.all_options():
        names = [o.short, o.flag] if o.short else [o.flag]
        common: dict[str, Any] = {"dest": o.keyword, "help": o.help.replace("%", "%%")}
        if o.takes == "bool":
            p.add_argument(*names, action="store_true", default=None, **common)
        elif o.takes == "switch":
            p.add_argument(*names, action=argparse.BooleanOptionalAction, default=None, **common)
        elif o.positional:  # trailing arguments, or repeated --path (as invoke takes them)
            p.add_argument(o.keyword, nargs="*", metavar=o.metavar or o.name.upper(), help=o.help)
            p.add_argument(o.flag, action="append", dest=f"{o.keyword}{REPEATED}", metavar=o.metavar or None,
                           help="the same, as an option (repeatable)")
        else:
            extra: dict[str, Any] = {"choices": o.choices or None, "metavar": o.metavar or None}
            if o.takes == "list":
                extra["action"] = "append"
            elif o.takes in ("int", "float"):
                extra["type"] = {"int": int, "float": float}[o.takes]
            p.add_argument(*names, **common, **extra)
    return p


def parse(command: Command, args: Sequence[str], prog: str) -> dict[str, Any] | None:
    """The command's keyword arguments from a command line (None values dropped); None for --help,
    after printing it. UsageError for an unknown option or a bad value."""
    p = parser(command, prog)
    values = vars(p.parse_args(list(args)))
    for key in [k for k in values if k.endswith(REPEATED)]:
        values[key.removesuffix(REPEATED)] = (values.pop(key) or []) + (values[key.removesuffix(REPEATED)] or [])
    if values.pop("help"):
        p.print_help()
        return None
    return {k: v for k, v in values.items() if v not in (None, [])}


def markdown() -> str:
    """The options table of docs/sessions-and-tasks.md (a test keeps the docs equal to it)."""
    lines = ["| command | option | meaning |", "|---|---|---|"]
    for c in COMMANDS:
        for i, o in enumerate(c.options):
            where = " (trailing arguments; invoke: repeated " + o.flag + ")" if o.positional else ""
            lines.append(f"| {'`' + c.name + '`' if i == 0 else ''} | `{_usage(o)}` | {o.help}{_more(o)}{where} |")
        if c.settings:
            which = f"the settings {', '.join(f'`--{n}`' for n in c.only)}" if c.only else "the settings below"
            lines.append(f"| {'' if c.options else '`' + c.name + '`'} | {which} | |")
    lines += ["", "| setting option (every command but `new`) | meaning |", "|---|---|"]
    lines += [f"| `{_usage(o)}` | {o.help}{_more(o)} |" for o in setting_options()]
    lines += ["", "| output option (every command) | meaning |", "|---|---|"]
    lines += [f"| `{_usage(o)}` | {o.help} |" for o in OUTPUT]
    return "\n".join(lines) + "\n"


def _usage(o: Option) -> str:
    flag = f"{o.short}, {o.flag}" if o.short else o.flag
    if o.takes == "switch":
        return f"{flag} / --no-{o.name}"
    return flag if o.takes == "bool" else f"{flag} {o.metavar or o.name.upper()}"


def _more(o: Option) -> str:
    return " (repeatable)" if o.takes == "list" and not o.positional else ""


if __name__ == "__main__":
    print(markdown(), end="")
