"""check: KrakenD's comparison, its exact text, the dependency sources, fixes, and bad input.

KrakenD's side comes from real data: the real go.mod of KrakenD CE 2.13.8 served by a file://
module proxy (the Go proxy protocol; the public proxy refuses krakend-ce here), and the real
KrakenD CE 2.13.8 binaries and image (.ci/krakend.sh), whose check-plugin judges the fixes.
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from krakend_tasks.core.golang.elf import read_build_info
from krakend_tasks.core.krakend.deps import Descriptor, fetch_go_mod, from_binary, from_image, parse_version_output
from krakend_tasks.core.verifying.check import Diff, check, compare
from krakend_tasks.errors import DependencySourceError
from krakend_tasks.render import krakend_text

from .conftest import PYTHON, ROOT, krakend, run

SHARED = Path(__file__).resolve().parent / "data" / "krakend"  # copies of ../shared/krakend
DATA = ROOT / "tests" / "data"
LIBC = "GLIBC-2.36_(debian-12)"
LURA_CORE = "github.com/luraproject/lura/v2/core"


@pytest.fixture
def isolated(tmp_path, monkeypatch, go_proxy):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("GOPROXY", go_proxy)
    return {"XDG_CACHE_HOME": str(tmp_path / "cache"), "GOPROXY": go_proxy}


@pytest.fixture
def mixed(tmp_path) -> Path:
    dest = tmp_path / "mixed"
    shutil.copytree(DATA / "plugin-mixed", dest)
    return dest


def krakend_2_13_8() -> Descriptor:
    from krakend_tasks.core.golang.gomod import read_go_mod

    mod = read_go_mod(SHARED / "go.mod.v2.13.8")
    return Descriptor("1.25.12", LIBC, {r.path: r.version for r in mod.requires.values()})


def test_compare_is_krakends():
    krakend = Descriptor("1.25.12", "L", {"b": "v1", "a": "v2", "only-krakend": "v1", "same": "v1.0.0"})
    plugin = Descriptor("1.25.11", "", {"b": "v2", "a": "v1", "only-plugin": "v9", "same": "v1.0.0"})
    assert compare(krakend, plugin) == [Diff("libc", "", "L"), Diff("go", "1.25.11", "1.25.12"),
                                        Diff("a", "v1", "v2"), Diff("b", "v2", "v1")]
    # plain string inequality, as KrakenD: v1 and v1.0.0 are the same version but differ
    same_version = compare(Descriptor("g", "l", {"m": "v1"}), Descriptor("g", "l", {"m": "v1.0.0"}))
    assert same_version == [Diff("m", "v1.0.0", "v1")]


def test_krakend_text_byte_for_byte(mixed):
    report = check(mixed / "go.sum", krakend_2_13_8())
    assert krakend_text(report) == (
        "libc\n\thave: \n\twant: GLIBC-2.36_(debian-12)\n"
        "github.com/google/uuid\n\thave: v1.5.0\n\twant: v1.6.0\n"
        "golang.org/x/mod\n\thave: v0.36.0\n\twant: v0.35.0\n"
        "golang.org/x/text\n\thave: v0.0.0-20170915032832-14c0d48ead0c\n\twant: v0.37.0\n"
        "4 incompatibilities found\n"
    )
    assert krakend_text(report, fix=True) == (
        "libc\n\thave: \n\twant: GLIBC-2.36_(debian-12)\n"
        "go get github.com/google/uuid@v1.6.0\n"
        "go get golang.org/x/mod@v0.35.0\n"
        "go mod edit --replace golang.org/x/text=golang.org/x/text@v0.37.0\n"
        "4 incompatibilities found\n"
    )
    assert [d.direction for d in report.diffs] == ["change", "upgrade", "downgrade", "upgrade"]


def test_krakends_own_go_sum_is_compatible():
    report = check(SHARED / "go.sum.v2.13.8", krakend_2_13_8(), libc=LIBC)
    assert report.diffs == [] and krakend_text(report) == "No incompatibilities found!\n"


def test_go_version_default_is_krakends_and_explicit_go_differs(mixed):
    krakend = Descriptor("1.25.12", "", {})
    assert check(mixed / "go.sum", krakend).diffs == []
    assert check(mixed / "go.sum", krakend, go="1.25.11").diffs == [Diff("go", "1.25.11", "1.25.12")]


def test_beyond_krakend_replace_and_go_lines(mixed):
    (mixed / "go.mod").write_text((mixed / "go.mod").read_text().replace("go 1.25.0", "go 1.26.0\n\ntoolchain go1.26.1")
                                  + "\nreplace github.com/google/uuid => ../uuid\n"
                                  + "replace golang.org/x/mod => golang.org/x/mod v0.34.0\n")
    findings = {f.subject: f for f in check(mixed / "go.sum", krakend_2_13_8(), release_go="1.25.12").findings}
    assert findings["github.com/google/uuid"].severity == "error" and "local folder ../uuid" in \
        findings["github.com/google/uuid"].message
    assert "golang.org/x/mod@v0.34.0" in findings["golang.org/x/mod"].message
    assert findings["golang.org/x/mod"].fix == "go mod edit --replace golang.org/x/mod=golang.org/x/mod@v0.35.0"
    assert findings["go.mod go line"].fix == "go mod edit -go=1.25.12"
    assert findings["go.mod toolchain line"].severity == "warning"


def test_proxy_source_reads_the_real_go_mod(isolated):
    text, url = fetch_go_mod("github.com/krakend/krakend-ce/v2", "v2.13.8")
    assert text == (SHARED / "go.mod.v2.13.8").read_text() and url.endswith("/@v/v2.13.8.mod")


def test_unreachable_proxy_with_empty_cache(tmp_path, monkeypatch, mixed):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("GOPROXY", (tmp_path / "no-proxy").as_uri())
    # 2.12.1: a release whose linked modules krakend-tasks does not ship, so the proxy is asked
    out = run([PYTHON, "-m", "krakend_tasks", "check", "--version", "2.12.1"], mixed,
              env={"XDG_CACHE_HOME": str(tmp_path / "cache"), "GOPROXY": (tmp_path / "no-proxy").as_uri()})
    assert out.returncode == 9
    assert "cannot fetch the go.mod of github.com/krakend/krakend-ce/v2@v2.12.1" in out.stderr
    with pytest.raises(DependencySourceError, match="GOPROXY=off"):
        monkeypatch.setenv("GOPROXY", "off")
        fetch_go_mod("github.com/krakend/krakend-ce/v2", "v2.13.8")


def test_binary_source_equals_go_version_m(krakend_bins):
    binary = krakend_bins["amd64-generic"]
    descriptor = from_binary(binary)
    printed = subprocess.run(["go", "version", "-m", str(binary)], capture_output=True, text=True, check=True)
    deps = {}
    for line in printed.stdout.splitlines():
        fields = line.strip().split("\t")
        if fields[0] == "dep":
            deps[fields[1]] = fields[2]
    assert descriptor.deps == deps and len(deps) > 250
    assert printed.stdout.splitlines()[0].endswith("go" + descriptor.go)
    assert descriptor.libc == LIBC == krakend(krakend_bins, "amd64-generic", "version").stderr.split(": ")[-1].strip()
    assert read_build_info(binary).settings["-buildmode"] == "exe"


def test_krakend_version_output():
    text = "KrakenD Version: 2.7.0\nGo Version: 1.22.2\nGlibc Version: MUSL-1.2.4_(alpine-3.18.6)\n"
    assert parse_version_output(text) == {"krakend": "2.7.0", "go": "1.22.2", "libc": "MUSL-1.2.4_(alpine-3.18.6)"}


def test_image_source(krakend_image, krakend_bins, docker_client):
    found = from_image(krakend_image)
    musl = from_binary(krakend_bins["amd64-alpine"])
    assert (found.deps, found.go, found.libc) == (musl.deps, "1.25.12", musl.libc)
    assert found.source == f"image {krakend_image}:/usr/bin/krakend"
    assert docker_client.containers.list(all=True, filters={"label": "krakend-tasks"}) == []


def test_cli_check_krakend_format_and_json(isolated, mixed):
    out = run([PYTHON, "-m", "krakend_tasks", "check", "--version", "2.13.8", "--format", "krakend", "--target",
               "amd64-generic"], mixed, env=isolated)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr == krakend_text(check(mixed / "go.sum", krakend_2_13_8()))
    out = run([PYTHON, "-m", "krakend_tasks", "check", "--version", "2.13.8", "--format", "json", "--target",
               "alpine"], mixed, env=isolated)
    assert out.returncode == 1, out.stderr
    document = json.loads(out.stdout)
    assert document["version"] == 1
    reports = document["reports"]
    assert list(reports) == ["amd64-alpine", "arm64-alpine"]
    diffs = {d["name"]: d for d in reports["arm64-alpine"]["diffs"]}
    assert "libc" not in diffs  # by default the plugin is built with the target's own libc
    assert diffs["golang.org/x/text"]["fix"] == "go mod edit --replace golang.org/x/text=golang.org/x/text@v0.37.0"
    assert reports["arm64-alpine"]["krakend_source"] == "modules linked by KrakenD 2.13.8 (bundled)"


def test_bundled_modules_are_what_krakend_links():
    """For 2.13.8 the modules come from a real KrakenD's build info: what its check-plugin compares."""
    from krakend_tasks.core.golang.gomod import read_go_mod
    from krakend_tasks.core.krakend.deps import for_release
    from krakend_tasks.core.krakend.releases import resolve

    linked = dict(line.split("\t") for line in (SHARED / "linked-modules.v2.13.8.linux-amd64.tsv").read_text()
                  .splitlines() if line and not line.startswith("#"))
    found = for_release(resolve("2.13.8"), LIBC)
    assert found.deps == linked and len(linked) > 250 and found.go == "1.25.12"
    requires = {r.path for r in read_go_mod(SHARED / "go.mod.v2.13.8").requires.values()}
    assert "github.com/bytedance/sonic" in requires - set(linked)  # required, not linked: not compared


def test_cli_check_compatible_exits_0(isolated, tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    shutil.copy(SHARED / "go.sum.v2.13.8", project / "go.sum")
    out = run([PYTHON, "-m", "krakend_tasks", "check", "--version", "2.13", "--format", "krakend", "--libc",
               "MUSL-1.2.5_(alpine-3.23)"], project, env=isolated)
    assert (out.returncode, out.stderr) == (0, "No incompatibilities found!\n")


@pytest.mark.parametrize(("content", "code", "message"), [
    (None, 3, "go.sum not found"),
    ("github.com/a/b v1.0.0\n", 3, "go.sum:1: malformed go.sum line"),
])
def test_cli_check_bad_go_sum(isolated, tmp_path, content, code, message):
    (tmp_path / "go.mod").write_text("module example.com/p\n\ngo 1.25\n\nrequire github.com/a/b v1.0.0\n")
    if content is not None:
        (tmp_path / "go.sum").write_text(content)
    out = run([PYTHON, "-m", "krakend_tasks", "check", "--version", "2.13.8"], tmp_path, env=isolated)
    assert out.returncode == code and message in out.stderr and "Traceback" not in out.stderr


def krakend_check_plugin(bins, project: Path) -> str:
    """The real KrakenD's verdict on a project's go.sum, with the Go and libc krakend-tasks builds with."""
    return krakend(bins, "amd64-generic", "check-plugin", "-s", str(project / "go.sum"), "-g", "1.25.12",
                   "-l", LIBC).stderr


def ran_lines(stderr: str) -> list[str]:
    return [line.removeprefix("ran: ") for line in stderr.splitlines() if line.startswith("ran: ")]


def test_apply_repeats_until_krakend_agrees(krakend_bins, isolated, tmp_path):
    """A go.sum older than `go mod tidy`: each round's tidy brings in modules KrakenD also has."""
    project = tmp_path / "stale"
    shutil.copytree(DATA / "plugin-stale-sum", project)
    assert krakend_check_plugin(krakend_bins, project).endswith("1 incompatibilities found\n")
    out = run([PYTHON, "-m", "krakend_tasks", "check", "--krakend-bin", str(krakend_bins["amd64-generic"]),
               "--target", "amd64-generic", "--apply"], project, env=isolated)
    assert out.returncode == 0, out.stdout + out.stderr
    ran = ran_lines(out.stderr)
    assert ran[0] == "go mod edit -require=github.com/google/uuid@v1.6.0"  # a direct requirement
    # tidy's additions: in the module graph only, so only a replace keeps them at KrakenD's version
    assert any("-replace=golang.org/x/text=golang.org/x/text@v0.37.0" in line for line in ran[1:])
    assert len(ran) == len(set(ran))
    assert krakend_check_plugin(krakend_bins, project) == "No incompatibilities found!\n"


OTEL = """module example.com/otelplugin

go 1.19

require (
	go.opentelemetry.io/otel v1.13.0
	go.opentelemetry.io/otel/sdk v1.13.0
	go.opentelemetry.io/otel/trace v1.13.0
)

require (
	github.com/go-logr/logr v1.2.3 // indirect
	github.com/go-logr/stdr v1.2.2 // indirect
	golang.org/x/sys v0.3.0 // indirect
)
"""
OTEL_MAIN = """package main

import (
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

var provider = sdktrace.NewTracerProvider()

var tracer trace.Tracer = provider.Tracer("otelplugin")

func init() { otel.SetTracerProvider(provider) }

func main() {}
"""


GRPC = """module example.com/grpcplugin

go 1.20

require google.golang.org/grpc v1.56.3
"""
GRPC_MAIN = """package main

import (
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var err = status.Error(codes.NotFound, "x")

func main() {}
"""
FAMILIES = {  # go.mod, main.go, a difference KrakenD's check-plugin reports before, and a fix that moves it
    "opentelemetry": (OTEL, OTEL_MAIN, "go.opentelemetry.io/otel/sdk\n\thave: v1.13.0\n\twant: v1.43.0",
                      "-require=go.opentelemetry.io/otel/sdk@v1.43.0"),
    # grpc 1.56 pulls the genproto monolith of 2023, which still held googleapis/rpc; KrakenD links the
    # split modules (genproto/googleapis/rpc) and a genproto without them
    "genproto": (GRPC, GRPC_MAIN, "google.golang.org/grpc\n\thave: v1.56.3\n\twant: v1.80.0",
                 "-require=google.golang.org/grpc@v1.80.0"),
}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_apply_moves_a_module_family_with_a_fresh_module_cache(family, krakend_bins, isolated, tmp_path):
    """A module family whose packages moved between modules, a module cache as empty as a CI runner's
    and a proxy chain whose first proxy lacks them: `go get` of one package path at a time failed there
    (OpenTelemetry: "module go.opentelemetry.io/otel@v1.43.0 found, but does not contain package
    go.opentelemetry.io/otel/sdk"); requirements set all at once, then tidy, converge."""
    go_mod, main_go, before, fix = FAMILIES[family]
    project = tmp_path / family
    project.mkdir()
    (project / "go.mod").write_text(go_mod)
    (project / "main.go").write_text(main_go)
    env = {**isolated, "GOMODCACHE": str(tmp_path / "modcache"), "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "go1.25.12"}
    assert run(["go", "mod", "tidy"], project, env=env).returncode == 0
    assert before in krakend_check_plugin(krakend_bins, project)
    run(["chmod", "-R", "u+w", str(tmp_path / "modcache")], project)
    shutil.rmtree(tmp_path / "modcache")  # fresh, as on a CI runner
    out = run([PYTHON, "-m", "krakend_tasks", "check", "--apply", "--version", "2.13.8", "--target", "amd64-generic"],
              project, env={**env, "GOFLAGS": ""})
    assert out.returncode == 0, out.stdout + out.stderr
    assert fix in ran_lines(out.stderr)[0]
    assert krakend_check_plugin(krakend_bins, project) == "No incompatibilities found!\n"
    run(["chmod", "-R", "u+w", str(tmp_path / "modcache")], project)


def test_apply_edits_the_replace_that_holds_a_module(krakend_bins, mixed, isolated):
    """`go get` cannot move a module a replace holds: the replace is edited, one fix per module."""
    go_mod = mixed / "go.mod"
    go_mod.write_text(go_mod.read_text().replace("golang.org/x/mod v0.36.0", "golang.org/x/mod v0.35.0")
                      + "\nreplace golang.org/x/mod => golang.org/x/mod v0.36.0\n")
    binary = str(krakend_bins["amd64-generic"])
    out = run([PYTHON, "-m", "krakend_tasks", "check", "--krakend-bin", binary, "--target", "amd64-generic",
               "--fix"], mixed, env=isolated)
    fix = "go mod edit --replace golang.org/x/mod=golang.org/x/mod@v0.35.0"
    assert out.returncode == 1 and out.stdout.count(fix) == 2, out.stdout  # its table row, and the --fix list
    assert "go get golang.org/x/mod" not in out.stdout
    out = run([PYTHON, "-m", "krakend_tasks", "check", "--krakend-bin", binary, "--target", "amd64-generic",
               "--apply"], mixed, env=isolated)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "-replace=golang.org/x/mod=golang.org/x/mod@v0.35.0" in ran_lines(out.stderr)[0]
    assert "replace golang.org/x/mod => golang.org/x/mod v0.35.0" in go_mod.read_text()
    assert krakend_check_plugin(krakend_bins, mixed) == "No incompatibilities found!\n"


def test_a_fix_go_refuses_is_named_and_the_others_kept(mixed, isolated, tmp_path):
    from krakend_tasks.core.verifying.check import apply_fixes

    before = (mixed / "go.mod").read_text()
    krakend = Descriptor("1.25.12", LIBC, {"github.com/google/uuid": "v1.99.0", "golang.org/x/mod": "v0.35.0"})
    report = check(mixed / "go.sum", krakend, libc=LIBC)
    assert report.fix_commands() == ["go get github.com/google/uuid@v1.99.0", "go get golang.org/x/mod@v0.35.0"]
    ran, _, refused = apply_fixes(lambda: {"amd64-generic": report}, mixed, "1.25.12")
    assert [(u.module, u.command) for u in refused] == [
        ("github.com/google/uuid", "go get github.com/google/uuid@v1.99.0 && go mod tidy")]
    assert "v1.99.0" in refused[0].said  # go's own words: no such version
    assert set(ran) == {"go get golang.org/x/mod@v0.35.0"}
    after = (mixed / "go.mod").read_text()
    assert "golang.org/x/mod v0.35.0" in after and "github.com/google/uuid v1.5.0" in after and after != before




def test_a_transient_proxy_fault_is_retried_once(tmp_path, isolated):
    """The module proxy answers 503 to the first request of a run, then works: what a retry cures. The
    faulty proxy is a stand-in (a loopback server that sends Go to the real proxy after one 503): a
    proxy that fails on demand cannot be had here otherwise."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    upstream = "https://proxy.golang.org"
    failed: list[str] = []

    class Flaky(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if not failed:
                failed.append(self.path)
                self.send_error(503, "Service Unavailable")
                return
            self.send_response(302)  # then the real proxy answers, as Go's client follows redirects
            self.send_header("Location", upstream + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    project = tmp_path / "stale"
    shutil.copytree(DATA / "plugin-stale-sum", project)
    env = {**isolated, "GOPROXY": f"http://127.0.0.1:{server.server_address[1]}",
           "GOMODCACHE": str(tmp_path / "modcache"), "GOFLAGS": ""}
    try:
        out = run([PYTHON, "-m", "krakend_tasks", "check", "--apply", "--version", "2.13.8", "--target",
                   "amd64-generic"], project, env=env)
    finally:
        server.shutdown()
        run(["chmod", "-R", "u+w", str(tmp_path / "modcache")], project)
    assert len(failed) == 1, failed
    assert out.returncode == 0, out.stdout + out.stderr
    assert "the module proxy failed (503 Service Unavailable): `go mod " in out.stderr, out.stderr
    assert "not applied" not in out.stderr
