import pytest

from krakend_tasks.core.krakend.releases import resolve
from krakend_tasks.core.project.settings import load_settings
from krakend_tasks.core.targets import ALL_TARGETS, TARGET_NAMES, parse_target, select_targets
from krakend_tasks.errors import ConfigError


def test_matrix_names_are_stable():
    assert TARGET_NAMES == ("amd64-alpine", "amd64-generic", "arm64-alpine", "arm64-generic")
    assert [t.ident for t in ALL_TARGETS] == ["amd64_alpine", "amd64_generic", "arm64_alpine", "arm64_generic"]


@pytest.mark.parametrize(("text", "name"), [
    ("aarch64-musl", "arm64-alpine"),
    ("x86_64-glibc", "amd64-generic"),
    ("ARM64_linux-generic", "arm64-generic"),
    ("x86-64-alpine", "amd64-alpine"),
    ("amd64-gnu", "amd64-generic"),
])
def test_synonyms(text, name):
    assert parse_target(text).name == name


@pytest.mark.parametrize(("spec", "names"), [
    (None, list(TARGET_NAMES)),
    ("all", list(TARGET_NAMES)),
    ("arm64", ["arm64-alpine", "arm64-generic"]),
    ("aarch64", ["arm64-alpine", "arm64-generic"]),
    ("musl", ["amd64-alpine", "arm64-alpine"]),
    ("arm64-generic,amd64-alpine", ["amd64-alpine", "arm64-generic"]),
    (["x86_64-musl", "amd64-alpine"], ["amd64-alpine"]),
])
def test_select(spec, names):
    assert [t.name for t in select_targets(spec)] == names


@pytest.mark.parametrize("bad", ["riscv64-alpine", "amd64-windows", "bogus", "amd64-"])
def test_unknown_target_names_the_valid_ones(bad):
    with pytest.raises(ConfigError) as err:
        select_targets(bad)
    assert f"unknown target {bad!r}" in str(err.value)
    assert "arm64-alpine" in err.value.hint
    assert err.value.exit_code == 2


def test_recipes_follow_krakend_cross_compile_docs():
    release = resolve("2.13.8")
    settings = load_settings(".", version="2.13.8")
    alpine_arm = settings.recipe(parse_target("arm64-alpine"))
    assert alpine_arm.image == "krakend/builder:2.13.8"
    assert alpine_arm.environment(on_host=False) == {
        "CGO_ENABLED": "1", "GOOS": "linux", "GOARCH": "arm64", "GOHOSTARCH": "amd64", "CC": "aarch64-linux-musl-gcc"}
    assert alpine_arm.linker_flags(on_host=False) == "-extldflags=-fuse-ld=bfd -extld=aarch64-linux-musl-gcc"
    generic_arm = settings.recipe(parse_target("arm64-generic"))
    assert generic_arm.image == "krakend/builder:2.13.8-linux-generic"
    assert generic_arm.environment(on_host=False)["CC"] == "aarch64-linux-gnu-gcc"
    assert generic_arm.linker_flags(on_host=False) == "-extldflags=-fuse-ld=bfd -extld=aarch64-linux-gnu-gcc"
    amd = settings.recipe(parse_target("amd64-generic"))
    assert amd.environment(on_host=False) == {"CGO_ENABLED": "1", "GOOS": "linux", "GOARCH": "amd64"}
    assert amd.linker_flags(on_host=False) == ""
    # on a Debian host the musl amd64 compiler is musl-gcc
    assert settings.recipe(parse_target("amd64-alpine")).environment(on_host=True)["CC"] == "musl-gcc"
    assert release.image(parse_target("amd64-generic"), "local/b") == "local/b:2.13.8-linux-generic"
