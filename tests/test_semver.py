"""Version order against Go's own golang.org/x/mod/semver (a Go helper built by the test)."""

import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from krakend_tasks.core.golang import semver

from .conftest import ROOT

num = st.sampled_from(["0", "1", "2", "9", "10", "01", "123"])
ident = st.sampled_from(["rc", "alpha", "beta", "0", "1", "11", "01", "x-y", "20240101000000", "abcdef123456"])
pre = st.lists(ident, min_size=1, max_size=3).map(lambda xs: "-" + ".".join(xs))
version = st.one_of(
    st.builds(lambda a, b, c, p, b2: f"v{a}.{b}.{c}{p}{b2}", num, num, num, st.one_of(st.just(""), pre),
              st.sampled_from(["", "+incompatible", "+meta.1"])),
    st.builds(lambda a: f"v{a}", num),
    st.builds(lambda a, b: f"v{a}.{b}", num, num),
    st.sampled_from(["", "v", "1.2.3", "v1.2.3-", "v1.2.3-a..b", "v1.2.3+", "v0.0.0-20200101000000-abcdef123456"]),
)


@pytest.fixture(scope="module")
def go_compare(tmp_path_factory):
    if not shutil.which("go"):
        pytest.skip("go is not installed")
    binary = tmp_path_factory.mktemp("semver") / "semversort"
    subprocess.run(["go", "build", "-o", str(binary), "."], cwd=ROOT / "tests" / "go" / "semversort", check=True)

    def compare(pairs: list[tuple[str, str]]) -> list[int]:
        out = subprocess.run([str(binary)], input="".join(f"{a} {b}\n" for a, b in pairs),
                             capture_output=True, text=True, check=True).stdout
        return [int(x) for x in out.split()]

    return compare


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(version, version), min_size=20, max_size=20))
def test_compare_equals_go(go_compare, pairs):
    assert [semver.compare(a, b) for a, b in pairs] == go_compare(pairs)


def test_known_orders():
    ordered = ["v0.0.0-20200101000000-abcdef123456", "v1.0.0-alpha", "v1.0.0-alpha.1", "v1.0.0-alpha.beta",
               "v1.0.0-beta.2", "v1.0.0-beta.11", "v1.0.0-rc.1", "v1.0.0", "v1.2", "v1.10.0", "v2.0.0+incompatible"]
    assert sorted(reversed(ordered), key=semver.sort_key) == ordered
    assert semver.compare("v1", "v1.0.0") == 0
    assert semver.compare("v2.0.0+incompatible", "v2.0.0") == 0
    assert semver.compare("garbage", "v0.0.1") == -1
    assert semver.compare("garbage", "other") == 0
