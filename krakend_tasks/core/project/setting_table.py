"""Every setting, declared once: its key, what it may hold, its default, its option, its help and
the hint its errors give.

The schema every source is checked against (core/project/schema.py), the `KRAKEND_TASKS_*` variables and
how they are split (core/project/settings.py), the options of every command (options.py), invoke's
configuration keys, the did-you-mean lists and the table of docs/configuration.md are all made from
`SETTINGS`; `declare_setting` adds one from outside. `Settings` (core/project/settings.py) is their typed
record: a declared key that is not one of its fields lands in `Settings.extra`.
"""

from __future__ import annotations

from typing import NamedTuple

LISTS = ("words", "texts", "names", "arguments", "requests")  # kinds that hold a list (a tuple in Settings)


class Setting(NamedTuple):
    key: str  # in the file and register(); KRAKEND_TASKS_<KEY> in the environment
    holds: str  # what a value may be: a kind of core/project/schema.py (text, bool, choice, repository, words...)
    default: str  # as the docs say it
    help: str  # the option's help
    meaning: str = ""  # the docs' line (default: the help)
    hint: str = ""  # how to write it, said with an error about it
    flag: str | None = ""  # its option: "" the key with dashes, None none (file, environment, register())
    takes: str = "str"  # as options.Option takes it: str, bool, switch (--x / --no-x) or list (repeatable)
    choices: tuple[str, ...] = ()
    metavar: str = ""
    spellings: tuple[tuple[str, str], ...] = ()  # other names of a choice, each said back as a did-you-mean

    @property
    def env(self) -> str:
        return "KRAKEND_TASKS_" + self.key.upper()

    @property
    def option(self) -> str | None:
        """The long option's name ("krakend-image"), or None."""
        return None if self.flag is None else self.flag or self.key.replace("_", "-")

    @property
    def listed(self) -> bool:
        return self.holds in LISTS

    def near(self, value: str) -> str:
        """`did you mean 'x'?` for a value that is not one of the choices: another spelling of one (its
        case, a synonym), or the closest; "" when none is close."""
        from krakend_tasks.errors import did_you_mean

        word = value.strip().lower()
        meant = dict(self.spellings).get(word) or (word if word in self.choices else "")
        return f"did you mean {meant!r}?" if meant else did_you_mean(word, self.choices)


REPOSITORY_HINT = 'an image repository, e.g. "{}" or "registry.example.com:5000/team/{}"'
SETTINGS: list[Setting] = [
    Setting("version", "text", "`latest`",
            "KrakenD version: 2.13.8, 2.13, 2 or latest; several for build, check, inspect, test and matrix: "
            "2.12,2.13, or a range: '>=2.12', '>=2.12,<2.14', '~=2.13'",
            "KrakenD release: full (`2.13.8`), minor (`2.13`), major (`2`) or `latest`; several, separated by commas "
            "(`2.12,2.13`); or a range of releases ([below](#release-ranges)): `\">=2.12\"`",
            hint='write it as a quoted string, e.g. version = "2.13"', metavar="V"),
    Setting("all_patches", "bool", "`false`",
            "with a version range, every patch release in it (default: the newest of each minor)",
            "with a range, every patch release in it, not only the newest of each minor", "true or false",
            takes="bool"),
    Setting("targets", "targets", "`all`",
            "targets: all, amd64, arm64, alpine, generic, or names like arm64-alpine",
            "target spec: `all`, an arch, a libc, or names (string or list)",
            'a string ("arm64") or a list of strings (["amd64-alpine", "arm64-alpine"])', flag="target",
            metavar="SPEC"),
    Setting("edition", "choice", "`ce`",
            "ce (default): KrakenD Community, whose releases krakend-tasks knows; ee: KrakenD Enterprise, its "
            "builder-ee and krakend-ee images, and its Go and modules read from your EE binary or image "
            "(--krakend-bin, --image)",
            "`ce`: KrakenD Community, whose releases krakend-tasks knows; `ee`: KrakenD Enterprise: `builder` and "
            "`krakend_image` default to `krakend/builder-ee` and `krakend/krakend-ee`, and Go, libc and modules come "
            "only from your EE binary or image (`--krakend-bin`, `--image`); see [the editions](editions.md)",
            "one of: ce, ee", choices=("ce", "ee"), metavar="ce|ee",
            spellings=(("community", "ce"), ("oss", "ce"), ("open-source", "ce"), ("enterprise", "ee"))),
    Setting("engine", "choice", "`auto`", "where builds run: auto (docker when a daemon answers), docker or local",
            "`auto`: docker when a daemon answers, else local; `docker`; `local`", "one of: auto, docker, local",
            choices=("auto", "docker", "local")),
    Setting("dist", "argument", "`dist`", "output folder, relative to the project (default dist)",
            hint='a folder, e.g. "dist"', metavar="DIR"),
    Setting("name", "name", "module's last path element", "", "plugin file name prefix",
            "a plain file name: letters, digits, '.', '_' and '-' (it names files inside dist/)", flag=None),
    Setting("builder", "repository", "`krakend/builder`", "repository of the builder images (default krakend/builder)",
            "repository of the builder images (`<repo>:<v>`, `<repo>:<v>-linux-generic`)",
            REPOSITORY_HINT.format("krakend/builder", "builder"), metavar="REPO"),
    Setting("pull", "choice", "`missing`", "image pull policy: missing (default), always, never",
            "`missing`: pull absent images; `always`; `never`", "one of: missing, always, never",
            choices=("missing", "always", "never")),
    Setting("network", "word", "daemon default", "Docker network mode of build containers (e.g. host)",
            "Docker network mode of build containers (`host`, `none`...)", 'a Docker network mode, e.g. "host"',
            metavar="MODE"),
    Setting("krakend_image", "repository", "`krakend`",
            "repository of KrakenD's own images (default krakend): ship's base, the matrix",
            "repository of KrakenD's own images (`<repo>:<v>`): `ship`'s base, `smoke`'s default KrakenD, the source "
            "of KrakenD's modules and fingerprints for a release krakend-tasks has no table of, the matrix's "
            "`krakend_image`", REPOSITORY_HINT.format("krakend", "krakend"), metavar="REPO"),
    Setting("runner", "word", "`ubuntu-24.04`", "", "CI runner label in the `matrix` rows",
            'a CI runner label, e.g. "ubuntu-24.04"', flag=None),
    Setting("package", "argument", "`.`", "the plugin's main package (default .), e.g. ./cmd/plugin",
            "the plugin's main package, e.g. `./cmd/plugin`", 'a Go package path, e.g. "./cmd/plugin"', metavar="PKG"),
    Setting("tags", "words", "none", "a build tag", "build tags (`go build -tags=...`)",
            'a list of build tags (letters, digits, _ and .), e.g. tags = ["production"]', flag="build-tag",
            takes="list", metavar="TAG"),
    Setting("build_flags", "texts", "none", "a `go build` flag, e.g. --build-flag=-v (not -trimpath, -o, -ldflags, "
            "-tags)", "more `go build` flags, e.g. `[\"-v\"]`. Refused (exit 13): `-trimpath` and `-linkshared` "
            "(KrakenD would refuse the plugin), `-o`, `-buildmode`, `-ldflags`, `-tags` (other settings own them)",
            'a list of strings, e.g. build_flags = ["-v"]', flag="build-flag", takes="list", metavar="FLAG"),
    Setting("before_build", "script", "none",
            "a shell command run where the build runs, before it (e.g. 'go generate ./...')",
            "a shell command run where the build runs, before `go build`: `go generate ./...`. In the builder "
            "container it runs in a copy of the source (the source is mounted read-only and nothing is written into "
            "it); on the host, in the project", 'a shell command, e.g. before_build = "go generate ./..."',
            metavar="CMD"),
    Setting("pass_env", "names", "none", "a host variable passed into the builder container (GOPRIVATE, GOPROXY, "
            "GONOPROXY, GONOSUMDB, GONOSUMCHECK and GOINSECURE always are)",
            "more host variables passed into the builder container. `GOPRIVATE`, `GOPROXY`, `GONOPROXY`, "
            "`GONOSUMDB`, `GONOSUMCHECK` and `GOINSECURE` always are, when set",
            'a list of variable names, e.g. pass_env = ["GITHUB_TOKEN"]', takes="list", metavar="NAME"),
    Setting("netrc", "bool", "`false`", "mount ~/.netrc (or $NETRC) read-only into the builder container",
            "mount `$NETRC` (else `~/.netrc`) read-only into the builder container, for private modules over HTTPS",
            "true or false", takes="switch"),
    Setting("ssh_agent", "bool", "`false`", "forward the SSH agent ($SSH_AUTH_SOCK) into the builder container",
            "forward `$SSH_AUTH_SOCK` into the builder container, for private modules over git+SSH", "true or false",
            takes="switch"),
    Setting("keep_failed_container", "bool", "`false`",
            "keep a failed build's container for a look (the next build removes it)",
            "keep a failed build's container (exited) for a look, as cibuildwheel's `CIBW_DEBUG_KEEP_CONTAINER`: the "
            "error says how (`docker commit`, then `docker run -it --entrypoint sh`); the next build removes it",
            "true or false", takes="switch"),
    Setting("plugins", "arguments", "none", "a plugin's folder (with its go.mod, or a package of the module around "
            "it), for several plugins",
            "a repository of several plugins: their folders, relative to the project, each with its own go.mod or a "
            "package of the module around it (named after its folder); all build into the project's `dist/` (see "
            "recipes.md)", 'a list of folders, e.g. plugins = ["plugins/auth", "plugins/rate"] (modules, or packages '
            'of one)', flag="plugin-folder", takes="list", metavar="DIR"),
    Setting("plugin", "text", "all", "of several plugins, the one to work on: its folder or its name",
            "of those, the one to work on: its folder or its name (`--only`)", 'a plugin\'s folder or name, e.g. '
            '"plugins/auth"', flag="only", metavar="PLUGIN"),
    Setting("smoke", "requests", "none", "",
            "the smoke run's requests: `[[smoke]]` tables (see [below](#smoke-requests)); in `KRAKEND_TASKS_SMOKE`, "
            "a JSON list", '[[smoke]] tables: path = "/x" (required), method, headers = { X-A = "1" }, body, '
            'status = 200, contains = "text", response_headers = { X-B = ["2"] }, response_body, schema = { type = '
            '"object" }; in KRAKEND_TASKS_SMOKE, a JSON list of such objects', flag=None),
    Setting("smoke_specs", "argument", "none", "",
            "a folder of KrakenD integration specs (`*.json`, krakend-integration's format), relative to the "
            "project, sent by `smoke` after the `[[smoke]]` requests ([specs](specs.md)); `--specs DIR`",
            'a folder of KrakenD integration specs (*.json), relative to the project, e.g. "specs"', flag=None),
    Setting("modcache", "path", "`/go/pkg/mod`", "module cache KrakenD was compiled from (default /go/pkg/mod)",
            "the module cache KrakenD's own build compiled its modules from. Both engines compile the plugin's "
            "modules from this path, because Go fingerprints shared packages with their source path. Change it only "
            "for a KrakenD built elsewhere (e.g. `/root/go/pkg/mod`)", 'an absolute path, e.g. "/go/pkg/mod"',
            metavar="DIR"),
]


def by_key() -> dict[str, Setting]:
    return {s.key: s for s in SETTINGS}


def declare_setting(setting: Setting) -> Setting:
    """Add a setting: the file, the environment, the options, register() and the docs' table take it."""
    if setting.key in by_key():
        raise ValueError(f"a setting named {setting.key!r} exists")
    SETTINGS.append(setting)
    return setting


def markdown() -> str:
    """The settings table of docs/configuration.md (a test keeps the docs equal to it)."""
    lines = ["| setting | default | meaning |", "|---|---|---|"]
    lines += [f"| `{s.key}` | {s.default} | {s.meaning or s.help} |" for s in SETTINGS]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
