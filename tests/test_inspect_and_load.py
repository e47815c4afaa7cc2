"""inspect, preflight and test-load on real plugins of all three types for all four targets."""

import contextlib
import json
import os
import random
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from krakend_tasks.core.golang.elf import read_elf
from krakend_tasks.core.project.settings import load_settings
from krakend_tasks.core.targets import TARGET_NAMES, parse_target
from krakend_tasks.core.verifying.preflight import preflight
from krakend_tasks.core.verifying.testload import load_in_image, load_local, parse_output
from krakend_tasks.errors import NotAPlugin

from .conftest import EXAMPLE, PYTHON, ROOT, VERSION, build_in, krakend, run

DATA = ROOT / "tests" / "data"
KINDS = {"server": (EXAMPLE, "hello", "HandlerRegisterer"),
         "client": (DATA / "client-plugin", "echo-client", "ClientRegisterer"),
         "modifier": (DATA / "modifier-plugin", "noop-modifier", "ModifierRegisterer")}


@pytest.fixture(scope="module")
def plugins(tmp_path_factory, cross):
    """{(kind, target): path} for the three plugin types built for the four targets."""
    out = {}
    for kind, (source, _, _) in KINDS.items():
        project = tmp_path_factory.mktemp(kind) / kind
        shutil.copytree(source, project, ignore=shutil.ignore_patterns("dist*"))
        s = load_settings(project, engine="local", version=VERSION)
        for artifact in build_in(s):
            out[(kind, artifact.target)] = s.dist_dir / artifact.path
    return out


@pytest.fixture(scope="module")
def release():
    return load_settings(".", version=VERSION).release


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("target", TARGET_NAMES)
def test_each_type_and_target_inspects_and_loads(plugins, release, kind, target):
    path = plugins[(kind, target)]
    elf = read_elf(path)
    arch, libc = target.split("-")
    assert (elf.arch, elf.libc) == (arch, "musl" if libc == "alpine" else "glibc")
    assert elf.registerers == (KINDS[kind][2],)
    assert elf.build_info.go == release.go and elf.build_info.settings["-buildmode"] == "plugin"
    recipe = load_settings(".", version=VERSION).recipe(parse_target(target))
    assert preflight(elf, parse_target(target), release, [kind]) == []
    result = load_local([path], [kind], recipe, release)
    assert result.ok, result.output
    assert [(c.kind, c.detail) for c in result.checks] == [(kind.upper(), f"registered: {KINDS[kind][1]}")]
    if libc == "generic":
        assert elf.glibc_max is not None and elf.glibc_max <= "2.36"


def test_wrong_type_is_predicted_and_fails_to_load(plugins, release):
    path = plugins[("client", "amd64-generic")]
    target = parse_target("amd64-generic")
    findings = preflight(read_elf(path), target, release, ["server"])
    assert [f.subject for f in findings] == ["server"]
    assert "The plugin does not contain a HandlerRegisterer." in findings[0].message
    result = load_local([path], ["server"], load_settings(".", version=VERSION).recipe(target), release)
    assert not result.ok and result.checks[0].detail == "The plugin does not contain a HandlerRegisterer."


def test_musl_plugin_in_glibc_loader_is_predicted(plugins, release):
    path = plugins[("server", "amd64-alpine")]
    target = parse_target("amd64-generic")
    findings = preflight(read_elf(path), target, release, ["server"])
    assert [f.subject for f in findings] == ["libc"] and "invalid ELF header" in findings[0].message
    result = load_local([path], ["server"], load_settings(".", version=VERSION).recipe(target), release)
    assert not result.ok and "invalid ELF header" in result.checks[0].detail


def test_wrong_arch_is_predicted_and_fails_to_load(plugins, release):
    path = plugins[("server", "arm64-generic")]
    target = parse_target("amd64-generic")
    assert [f.subject for f in preflight(read_elf(path), target, release)] == ["architecture"]
    result = load_local([path], ["server"], load_settings(".", version=VERSION).recipe(target), release)
    assert not result.ok and result.checks[0].kind == "OPEN"


def test_other_go_version_is_predicted_and_fails_to_load(tmp_path, release, cross):
    """A plugin built by the host's own Go (not the release's) does not load in a go1.25.12 loader."""
    host_go = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True,
                             env={**os.environ, "GOTOOLCHAIN": "local"}).stdout.strip().removeprefix("go")
    if host_go == release.go:
        pytest.skip("the host Go is the release's Go")
    project = tmp_path / "hello"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("dist*"))
    subprocess.run(["go", "build", "-buildmode=plugin", "-o", "other.so", "."], cwd=project, check=True,
                   env={**os.environ, "GOTOOLCHAIN": "local", "CGO_ENABLED": "1"})
    target = parse_target("amd64-generic")
    elf = read_elf(project / "other.so")
    findings = preflight(elf, target, release, ["server"])
    assert [f.subject for f in findings] == ["go"] and f"built with Go {host_go}" in findings[0].message
    result = load_local([project / "other.so"], ["server"], load_settings(".", version=VERSION).recipe(target),
                        release)
    assert not result.ok
    assert "different version of package" in result.output or result.fatal == "runtime: no plugin module data"


def test_modules_compared_with_a_krakend_binary(release):
    from krakend_tasks.core.krakend.deps import Descriptor

    krakend = Descriptor(release.go, "", {"github.com/google/uuid": "v1.6.0"})
    from krakend_tasks.core.golang.elf import BuildInfo, ElfFile, Module

    fake = ElfFile(EXAMPLE, 64, "amd64", "ET_DYN", "glibc", ("libc.so.6",), "2.34",
                   BuildInfo(release.go, "p", None, (Module("github.com/google/uuid", "v1.5.0"),),
                             {"-buildmode": "plugin"}), ("HandlerRegisterer",))
    findings = preflight(fake, parse_target("amd64-generic"), release, ["server"], krakend)
    assert [(f.subject, f.fix) for f in findings] == [
        ("github.com/google/uuid", "go get github.com/google/uuid@v1.6.0")]
    assert "plugin was built with a different version of package github.com/google/uuid" in findings[0].message


def test_newer_glibc_symbol_is_predicted(plugins):
    """A generic plugin needing GLIBC_2.34 cannot load on KrakenD 2.11.0, whose builder has glibc 2.31."""
    old = load_settings(".", version="2.11.0").release
    elf = read_elf(plugins[("server", "amd64-generic")])
    subjects = [f.subject for f in preflight(elf, parse_target("amd64-generic"), old)]
    assert "glibc" in subjects and "GLIBC_2.34' not found" in str(preflight(elf, parse_target("amd64-generic"), old))


@pytest.mark.parametrize(("content", "message"), [
    (b"", "is not an ELF file"),
    (b"hello world", "is not an ELF file"),
    (b"\x7fELF\x02\x01\x01" + b"\0" * 9, "damaged ELF file"),
])
def test_not_plugins(tmp_path, content, message):
    path = tmp_path / "x.so"
    path.write_bytes(content)
    with pytest.raises(NotAPlugin, match=message):
        read_elf(path)
    out = run([PYTHON, "-m", "krakend_tasks", "inspect", "--path", str(path)], tmp_path)
    assert out.returncode == 8 and message in out.stderr and "Traceback" not in out.stderr


def test_truncated_plugin_and_a_program(plugins, tmp_path):
    data = plugins[("server", "amd64-generic")].read_bytes()
    (tmp_path / "cut.so").write_bytes(data[: len(data) // 3])
    with pytest.raises(NotAPlugin):
        read_elf(tmp_path / "cut.so")
    findings = preflight(read_elf("/bin/true"), parse_target("amd64-generic"), load_settings(".").release)
    assert "buildmode" in [f.subject for f in findings]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_fuzz_random_and_mutated_files(plugins, tmp_path_factory, data):
    """Random bytes, truncations and byte flips of a real plugin: a result or NotAPlugin, nothing else."""
    real = plugins[("server", "amd64-generic")].read_bytes()
    kind = data.draw(st.sampled_from(["random", "truncate", "flip"]))
    if kind == "random":
        blob = data.draw(st.binary(max_size=4096))
        if data.draw(st.booleans()):
            blob = b"\x7fELF" + blob
    elif kind == "truncate":
        blob = real[: data.draw(st.integers(0, len(real)))]
    else:
        rng = random.Random(data.draw(st.integers(0, 2**32)))
        blob = bytearray(real)
        region = data.draw(st.sampled_from(["head", "tail", "any"]))
        for _ in range(data.draw(st.integers(1, 64))):
            at = {"head": rng.randrange(0, 4096), "tail": rng.randrange(len(real) - 8192, len(real)),
                  "any": rng.randrange(0, len(real))}[region]
            blob[at] = rng.randrange(256)
        blob = bytes(blob)
    path = tmp_path_factory.mktemp("fuzz") / "f.so"
    path.write_bytes(blob)
    with contextlib.suppress(NotAPlugin):
        read_elf(path)


def test_parse_krakend_test_plugin_output():
    ok = parse_output("[OK] SERVER\t/p/a.so\n[OK] 1 tested plugin(s) in 1.2ms\n", 0)
    assert ok.ok and ok.checks[0].kind == "SERVER" and ok.checks[0].path == "/p/a.so"
    ko = parse_output("[KO] SERVER\t/p/a.so: The plugin does not contain a HandlerRegisterer.\n"
                      "[KO] Unable to open the plugin /p/b.so.\n"
                      "[KO] 2 tested plugin(s) in 1ms.\n2 plugin(s) failed.\n", 1)
    assert not ko.ok and [c.kind for c in ko.checks] == ["SERVER", "OPEN"]
    assert ko.checks[0].detail == "The plugin does not contain a HandlerRegisterer."
    crash = parse_output("fatal error: runtime: no plugin module data\n\ngoroutine 1 [running]:\n", 2)
    assert not crash.ok and crash.fatal == "runtime: no plugin module data"


def test_load_in_a_krakend_image(plugins, krakend_image, docker_client):
    """`test-plugin` inside the real KrakenD's image (musl) through the Docker SDK."""
    recipe = load_settings(".", version=VERSION).recipe(parse_target("amd64-alpine"))
    good = load_in_image([plugins[("server", "amd64-alpine")]], ["server"], krakend_image, recipe, pull="never")
    assert good.ok and good.checks[0].path == f"hello-{VERSION}-amd64-alpine.so", good.output
    bad = load_in_image([plugins[("server", "arm64-alpine")]], ["server"], krakend_image, recipe, pull="never")
    assert not bad.ok and "unsupported relocation type" in bad.checks[0].detail, bad.output  # an arm64 file
    assert docker_client.containers.list(all=True, filters={"label": "krakend-tasks"}) == []


def test_sessions_and_tasks_after_build(tmp_path, cross):
    """nox -s build then nox -s test_load / inspect on dist's manifest; invoke krakend.test-load too.
    The old names (nox -s test_plugin, test_plugin_<target>, invoke krakend.test, krakend-tasks test)
    still work and say the new ones."""
    shutil.copytree(EXAMPLE, tmp_path / "plugin", ignore=shutil.ignore_patterns("dist*"))
    (tmp_path / "noxfile.py").write_text(
        f"import krakend_tasks.nox\nkrakend_tasks.nox.register(project='plugin', version='{VERSION}')\n")
    (tmp_path / "tasks.py").write_text(
        "from invoke import Collection\nimport krakend_tasks.invoke\n"
        f"ns = Collection(krakend_tasks.invoke.collection(project='plugin', version='{VERSION}'))\n")
    assert run([PYTHON, "-m", "nox", "-s", "build", "--", "--engine", "local"], tmp_path).returncode == 0
    out = run([PYTHON, "-m", "nox", "-s", "test_load", "--", "--json"], tmp_path)
    assert out.returncode == 0, out.stderr
    loads = json.loads(out.stdout)["plugins"]
    assert sorted(r["target"] for r in loads) == sorted(TARGET_NAMES) and all(r["ok"] for r in loads)
    assert {c["detail"] for r in loads for c in r["checks"]} == {"registered: hello"}
    out = run([PYTHON, "-m", "nox", "-s", "test_load_arm64_alpine"], tmp_path)
    assert out.returncode == 0 and "arm64-alpine" in out.stdout
    for old, new in ((["nox", "-s", "test_plugin_arm64_alpine"], "nox -s test_load_arm64_alpine"),
                     (["nox", "-s", "test_plugin"], "nox -s test_load"),
                     (["invoke", "krakend.test", "--target", "arm64-alpine"], "is now test-load"),
                     (["krakend_tasks", "test", "--target", "arm64-alpine"],
                      "krakend-tasks test is now krakend-tasks test-load")):
        out = run([PYTHON, "-m", *old], tmp_path if old[0] != "krakend_tasks" else tmp_path / "plugin")
        assert out.returncode == 0 and "arm64-alpine" in out.stdout, out.stderr
        assert new in out.stderr and "the old name still works" in out.stderr
    out = run([PYTHON, "-m", "nox", "-s", "inspect", "--", "--json", "--type", "client"], tmp_path)
    assert out.returncode == 1 and "does not contain a ClientRegisterer" in out.stdout
    out = run([PYTHON, "-m", "invoke", "krakend.test-load", "--target", "amd64-generic"], tmp_path)
    assert out.returncode == 0 and "registered: hello" in out.stdout
    out = run([PYTHON, "-m", "invoke", "krakend.inspect", "--json"], tmp_path)
    assert out.returncode == 0
    assert {tuple(r["registerers"]) for r in json.loads(out.stdout)["plugins"]} == {("HandlerRegisterer",)}


def test_an_enterprise_only_plugin_is_named_so(tmp_path, krakend_bins):
    """MiddlewareRegisterer only: inspect and test say it is a KrakenD Enterprise type; the real
    KrakenD CE's test-plugin finds none of its registerers in it."""
    project = tmp_path / "mw"
    shutil.copytree(DATA / "enterprise-plugin", project)
    [artifact] = build_in(load_settings(project, engine="local", version=VERSION, targets="amd64-generic"))
    plugin = project / "dist" / artifact.path
    out = run([PYTHON, "-m", "krakend_tasks", "inspect", "--json"], project)
    assert out.returncode == 1
    [row] = json.loads(out.stdout)["plugins"]
    assert [f["message"] for f in row["findings"] if f["severity"] == "error"] == [
        "exports MiddlewareRegisterer only: a KrakenD Enterprise plugin type, which KrakenD CE never looks up "
        "(its test-plugin has no flag for it)"]
    out = run([PYTHON, "-m", "krakend_tasks", "test-load", "--json"], project)
    assert out.returncode == 1 and "a KrakenD Enterprise plugin type" in json.loads(out.stdout)["plugins"][0]["fatal"]
    real = krakend(krakend_bins, "amd64-generic", "test-plugin", "-s", "-c", "-m", str(plugin))
    assert real.returncode == 1 and "does not contain a HandlerRegisterer" in real.stderr
