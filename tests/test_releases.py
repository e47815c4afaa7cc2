from pathlib import Path

import pytest

from krakend_tasks.core.krakend.releases import all_releases, parse_table, refresh, resolve, write_table
from krakend_tasks.core.targets import parse_target
from krakend_tasks.errors import ConfigError

SHARED = Path(__file__).resolve().parents[2] / "shared" / "krakend" / "releases.tsv"


@pytest.mark.parametrize(("spec", "version"), [
    ("2.13.8", "2.13.8"), ("v2.13.8", "2.13.8"), ("2.13", "2.13.8"), ("2.9", "2.9.4"),
    ("2", "2.13.8"), ("latest", "2.13.8"), (None, "2.13.8"), ("2.4", "2.4.6"),
])
def test_resolve(spec, version):
    assert resolve(spec).version == version


# the last two: digits to str.isdigit, no version to KrakenD (a major of "¹" once crashed int())
@pytest.mark.parametrize("bad", ["2.14", "2.13.9", "1.4.1", "banana", "2.13.8.1", "¹", "٣.0"])
def test_unknown_version(bad):
    with pytest.raises(ConfigError) as err:
        resolve(bad)
    assert f"unknown KrakenD version {bad!r}" in str(err.value)
    assert "2.0.0 to 2.13.8" in err.value.hint


def test_release_data():
    r = resolve("2.13.8")
    assert (r.go, r.alpine, r.debian) == ("1.25.12", "3.23", "bookworm")
    assert r.lura == "v2.14.2-0.20260316170719-6d79b4ef723b"
    assert r.libc(parse_target("amd64-generic")) == "GLIBC-2.36_(debian-12)"
    assert r.libc(parse_target("arm64-alpine")) == "MUSL-1.2.5_(alpine-3.23)"
    assert resolve("2.7.0").libc(parse_target("amd64-alpine")) == "MUSL-1.2.4_(alpine-3.19)"
    assert resolve("2.4.0").debian == "bullseye"
    assert resolve("2.0.0").has_builder(parse_target("amd64-generic")) is False
    assert resolve("2.11.0").glibc() == "2.31" and resolve("2.11.1").glibc() == "2.36"


def test_bundled_table_matches_shared_data_and_round_trips(tmp_path):
    if SHARED.is_file():
        assert parse_table(SHARED.read_text()) == list(all_releases())
    out = tmp_path / "releases.tsv"
    write_table(list(all_releases()), out)
    assert parse_table(out.read_text()) == list(all_releases())


def test_bad_table_is_rejected():
    with pytest.raises(ConfigError, match="columns"):
        parse_table("tag\tdate\nv2.0.0\t2022-01-01\n")


def test_refresh_validates_and_rewrites(tmp_path):
    source = tmp_path / "new.tsv"
    extra = "\t".join(["v2.14.0", "2026-12-01", "github.com/krakend/krakend-ce/v2", "1.26.1", "3.23",
                       "golang:${GOLANG_VERSION}-bookworm", "v2.9.0", "v2.15.0"]) + "\n"
    write_table(list(all_releases()), source)
    source.write_text(source.read_text() + extra)
    out = tmp_path / "bundled.tsv"
    try:
        releases = refresh(str(source), out)
        assert releases[-1].version == "2.14.0" and parse_table(out.read_text())[-1].go == "1.26.1"
    finally:
        all_releases.cache_clear()
    assert resolve("latest").version == "2.13.8"
    (tmp_path / "bad.tsv").write_text("nonsense\n")
    with pytest.raises(ConfigError):
        refresh(str(tmp_path / "bad.tsv"), out)


@pytest.mark.parametrize(("spec", "versions"), [
    (">=2.12", ["2.12.1", "2.13.8"]),
    (">=2.12,<2.14", ["2.12.1", "2.13.8"]),
    ("~=2.13", ["2.13.8"]),
    ("==2.13.*", ["2.13.8"]),
    ("<2.1", ["2.0.6"]),
    ("2.12,2.13", ["2.12.1", "2.13.8"]),
])
def test_release_ranges_are_packagings_specifiers(spec, versions):
    from krakend_tasks.core.krakend.releases import select

    assert [r.version for r in select(spec)] == versions


def test_a_range_with_every_patch_and_the_ranges_that_fail():
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    from krakend_tasks.core.krakend.releases import all_releases, select
    from krakend_tasks.errors import ConfigError

    every = [r.version for r in select(">=2.12", all_patches=True)]
    assert every == [r.version for r in all_releases() if Version(r.version) in SpecifierSet(">=2.12")]
    assert every[0] == "2.12.0" and every[-1] == "2.13.8"
    for bad, said in ((">=2.x", "Invalid specifier: '>=2.x'"), ("=>2.12", "Invalid specifier: '=>2.12'")):
        with pytest.raises(ConfigError) as raised:
            select(bad)
        assert said in raised.value.message and '">=2.12"' in raised.value.hint
    with pytest.raises(ConfigError) as raised:
        select(">=9")
    assert raised.value.message == "version '>=9' matches no KrakenD release"
    assert "2.0.0 (oldest) to 2.13.8 (newest" in raised.value.hint


def test_matrix_emits_a_row_per_release_of_a_range(tmp_path):
    import json
    import subprocess
    import sys

    from .conftest import copy_example

    project = copy_example(tmp_path / "hello")
    out = subprocess.run([sys.executable, "-m", "krakend_tasks", "matrix", "--json", "--version", ">=2.12",
                          "--target", "amd64-alpine"], cwd=project, capture_output=True, text=True, check=True)
    rows = json.loads(out.stdout)["include"]
    assert [(r["krakend"], r["target"]) for r in rows] == [("2.12.1", "amd64-alpine"), ("2.13.8", "amd64-alpine")]


@pytest.mark.parametrize("asked", ["3", "3.0", "3.0.0", "3.1", "v3", "V3.0", "4"])
def test_krakend_ce_3_loads_no_plugins_whether_listed_or_not(asked):
    from krakend_tasks.errors import PluginsDropped

    with pytest.raises(PluginsDropped) as err:
        resolve(asked)
    said = str(err.value)
    assert f"KrakenD CE {asked} loads no Go plugins" in said and "2.13.x (2.13.8 here)" in said
    assert "KrakenD Enterprise" in said and err.value.exit_code == 19


def test_with_ce_3_in_the_table_latest_and_ranges_keep_to_the_releases_that_load_plugins():
    """KrakenD CE 3.0.0 (krakend-ce's dev-3.0: module .../v3, Go 1.26.5) listed: data, not an exception."""
    from krakend_tasks.core.krakend.releases import select
    from krakend_tasks.data import DATA
    from krakend_tasks.errors import PluginsDropped

    text = DATA.joinpath("releases.tsv").read_text() + (
        "v3.0.0\t2026-09-01\tgithub.com/krakend/krakend-ce/v3\t1.26.5\t3.23\t"
        "golang:${GOLANG_VERSION}-bookworm\tv3.0.0\tv3.0.0\n")
    table = tuple(parse_table(text))
    assert table[-1].version == "3.0.0" and not table[-1].loads_plugins and table[-2].loads_plugins
    assert resolve("latest", table).version == resolve("2", table).version == "2.13.8"
    said: list[str] = []
    assert [r.version for r in select(">=2.12", releases=table, log=said.append)] == ["2.12.1", "2.13.8"]
    assert said == ["version '>=2.12': 3.0.0 left out: KrakenD CE 3.0 and later load no Go plugins "
                    "(docs/editions.md)"]
    for asked in (">=3", "3.0.0", "3"):
        with pytest.raises(PluginsDropped):
            select(asked, releases=table)


def test_the_command_line_says_it_with_its_own_status(tmp_path):
    import subprocess
    import sys

    for command in (["build"], ["check"], ["new", "--type", "server", "--name", "x"]):
        out = subprocess.run([sys.executable, "-m", "krakend_tasks", *command, "--version", "3.0"], cwd=tmp_path,
                             capture_output=True, text=True)
        assert out.returncode == 19 and "KrakenD CE 3.0 loads no Go plugins" in out.stderr, out.stderr
        assert "Traceback" not in out.stderr
    assert not (tmp_path / "x").exists()
