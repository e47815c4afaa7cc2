"""bench: the real KrakenD CE 2.13.8 (.ci/krakend.sh) with and without real plugins, under vegeta's
load. The tests assert what bench tells apart (a plugin made slow on purpose from the same plugin as
scaffolded, a refused plugin, requests only one arm serves), never a timing."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import time
from pathlib import Path

import pytest

from krakend_tasks.core.krakend.config import without_plugins
from krakend_tasks.core.krakend.releases import resolve
from krakend_tasks.core.project.settings import load_settings
from krakend_tasks.core.serving.bench import Budget, Interval, judge, paired, parse_budget
from krakend_tasks.core.workflows.scaffold import new
from krakend_tasks.errors import ConfigError

from .conftest import PYTHON, VERSION, build_in, command_lines, interrupt_when, run
from .test_smoke import foreign_build, krakends_running
from .test_smoke import hello as hello  # the fixture: the example, built for amd64 glibc

SHORT = ("--rounds", "4", "--duration", "1", "--rate", "150")  # a few seconds a run: what is told apart, not speed


def bench(project: Path, *args: str) -> subprocess.CompletedProcess:
    return run([PYTHON, "-m", "krakend_tasks", "bench", *args], project)


def drivers_running() -> list[str]:
    """bench's Go driver (its backend or an attack), by its cached path."""
    return [c for c in command_lines("/bench/") if c.split()[0].endswith("/bench")]


@pytest.mark.parametrize(("text", "budget"), [
    ("1ms", Budget(1.0, False, "1ms")), ("250us", Budget(0.25, False, "250us")),
    ("0.5 ms", Budget(0.5, False, "0.5 ms")), ("5%", Budget(5.0, True, "5%")), ("2s", Budget(2000.0, False, "2s"))])
def test_a_budget_is_a_time_or_a_share(text, budget):
    assert parse_budget(text) == budget


@pytest.mark.parametrize("text", ["1 parsec", "-5%", "", "ms", "1e3ms", "nan ms", "5%%", "1ms 2ms"])
def test_a_malformed_budget_is_refused_naming_it(text):
    with pytest.raises(ConfigError, match="not a time"):
        parse_budget(text)


def test_the_interval_is_students_over_the_paired_rounds():
    # mean 2, sample sd 1, n 4: t(3) = 3.182, half-width 3.182 * 1 / 2
    found = paired([1.0, 2.0, 3.0, 2.0 + 0.0])
    assert found.value == 2.0
    sd = math.sqrt(((1 - 2) ** 2 + 0 + (3 - 2) ** 2 + 0) / 3)
    assert math.isclose(found.high - found.value, 3.182 * sd / 2, rel_tol=1e-9)
    assert paired([1.0]) == Interval(1.0, -math.inf, math.inf)  # one round: no interval, never a pass


def test_verdicts_and_errors_are_never_speed():
    arms = {"baseline": {"p50_ms": 1.0, "p99_ms": 4.0, "error_rate": 0.0, "errors": {}},
            "plugin": {"p50_ms": 1.2, "p99_ms": 4.4, "error_rate": 0.0, "errors": {}}}
    under = {"p50_ms": Interval(0.2, 0.1, 0.3), "p99_ms": Interval(0.4, 0.1, 0.7)}
    assert judge(arms, under, parse_budget("1ms"))[0] == "pass"
    assert judge(arms, under, parse_budget("5%"))[0] == "fail"  # 5% of 1 ms is 0.05 ms: p50's interval lies above
    assert judge(arms, {"p50_ms": Interval(0.2, 0.1, 0.3), "p99_ms": Interval(2, 1.5, 2.5)},
                 parse_budget("1ms"))[0] == "fail"
    assert judge(arms, {"p50_ms": Interval(0.2, -0.5, 1.5), "p99_ms": Interval(0.1, 0.0, 0.2)},
                 parse_budget("1ms"))[0] == "inconclusive"
    failing = {**arms, "plugin": {**arms["plugin"], "error_rate": 1.0, "errors": {"status 500": 600}}}
    verdict, reasons = judge(failing, under, None)
    assert verdict == "fail" and "error rates differ" in reasons[0] and "600 x status 500" in reasons[0]


def test_the_baseline_takes_out_only_the_projects_plugins():
    config = {"version": 3, "plugin": {"folder": "/p/", "pattern": ".so"},
              "extra_config": {"plugin/http-server": {"name": ["mine", "theirs"], "mine": {"a": 1}, "theirs": {}}},
              "endpoints": [{"endpoint": "/a", "extra_config": {"plugin/req-resp-modifier": {"name": ["mod"]}},
                             "backend": [{"extra_config": {"plugin/http-client": {"name": "cli"}}}]}]}
    out = without_plugins(config, {"server": {"mine"}, "modifier": {"mod"}, "client": {"cli"}})
    assert out["extra_config"]["plugin/http-server"] == {"name": ["theirs"], "theirs": {}}
    assert out["endpoints"][0]["extra_config"] == {} and out["endpoints"][0]["backend"][0]["extra_config"] == {}
    assert out["plugin"] == config["plugin"]  # `theirs` still needs the plugin block
    alone = without_plugins(out, {"server": {"theirs"}})
    assert "plugin" not in alone and alone["extra_config"] == {}
    assert config["extra_config"]["plugin/http-server"]["name"] == ["mine", "theirs"]  # the original unchanged


@pytest.fixture(scope="module")
def modifiers(tmp_path_factory, cross) -> dict[str, Path]:
    """The scaffolded modifier as it is, and the same made slow on purpose (2 ms per request), built."""
    found = {}
    for name, slow in (("as-is", False), ("slow", True)):
        project = tmp_path_factory.mktemp("bench") / f"mod-{name}"
        new(project, "modifier", release=resolve(VERSION))
        if slow:
            main = project / "main.go"
            main.write_text(main.read_text().replace('"net/url"\n', '"net/url"\n\t"time"\n').replace(
                "\t\treq.Headers()[header]", "\t\ttime.Sleep(2 * time.Millisecond)\n\t\treq.Headers()[header]"))
        build_in(load_settings(project, engine="local", targets="amd64-generic"))
        found[name] = project
    return found


def test_a_slow_plugin_fails_the_budget_and_the_same_plugin_as_scaffolded_does_not(modifiers, krakend_bins):
    krakend = str(krakend_bins["amd64-generic"])
    reports = {}
    for name, project in modifiers.items():
        out = bench(project, "--krakend-bin", krakend, *SHORT, "--max-overhead", "1ms", "--json")
        assert out.returncode == (1 if name == "slow" else 0), out.stdout + out.stderr
        reports[name] = json.loads(out.stdout)
    slow, fast = reports["slow"], reports["as-is"]
    assert slow["verdict"] == "fail" and fast["verdict"] in ("pass", "inconclusive")
    assert slow["overhead"]["p50_ms_interval"][0] > 1.0  # the 2 ms sleep, told apart from the budget
    assert slow["overhead"]["p50_ms_interval"][0] > fast["overhead"]["p50_ms_interval"][1]
    for report in reports.values():
        assert report["version"] == 1 and report["rate"] == 150 and report["rounds"] + len(report["thrown_out"]) == 4
        for arm in ("baseline", "plugin"):
            assert set(report["arms"][arm]) >= {"p50_ms", "p90_ms", "p99_ms", "max_ms", "rps", "errors"}
            assert report["arms"][arm]["errors"] == {}
        assert report["requests"] == ["GET /hello"]  # the scaffold's endpoint; its [[smoke]] asks for the same
    assert krakends_running() == [] and drivers_running() == []


def test_the_same_config_against_itself_is_no_overhead(modifiers, krakend_bins, tmp_path):
    """--baseline: the plugin-free config on both sides: the interval holds 0, or misses it by a hair (a
    95% interval misses the true value once in twenty runs, more often beside other tests' load)."""
    project = modifiers["as-is"]
    config = json.loads((project / "krakend.json").read_text())
    (tmp_path / "plain.json").write_text(json.dumps(without_plugins(config, {"modifier": {"mod-as-is"}})))
    out = bench(project, "--krakend-bin", str(krakend_bins["amd64-generic"]), *SHORT, "--config",
                str(tmp_path / "plain.json"), "--baseline", str(tmp_path / "plain.json"), "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    low, high = report["overhead"]["p50_ms_interval"]
    near = 0.1 * report["arms"]["baseline"]["p50_ms"]
    assert low <= 0 <= high or min(abs(low), abs(high)) <= near or report["thrown_out"], out.stdout


def test_a_server_plugin_its_own_path_left_out_and_every_output(hello, krakend_bins, tmp_path):
    junit, plot = tmp_path / "bench.xml", tmp_path / "bench.html"
    out = bench(hello, "--krakend-bin", str(krakend_bins["amd64-generic"]), *SHORT, "--max-overhead", "50%",
                "--junit", str(junit), "--plot", str(plot))
    assert out.returncode in (0, 1), out.stdout + out.stderr
    # /__hello is the plugin's own path: the baseline answers 404 there
    assert "GET /__hello: the plugin arm answers 200, the baseline 404: only one arm serves it" in out.stderr
    assert out.stdout.startswith("bench: hello (amd64-generic) in binary ")
    assert "p50 (ms)\t" in out.stdout and "verdict: " in out.stdout and "  baseline " in out.stdout
    assert "<testsuite name=\"bench amd64-generic\"" in junit.read_text()
    assert plot.read_text().startswith("<!DOCTYPE html>") and "<svg" in plot.read_text()
    out = bench(hello, "--krakend-bin", str(krakend_bins["amd64-generic"]), *SHORT, "--path", "/__hello")
    assert out.returncode == 2 and "no request is answered alike by both arms" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_plugin_krakend_refuses_is_said_in_krakends_words(hello, krakend_bins, tmp_path):
    foreign_build(hello, tmp_path)
    out = bench(hello, "--krakend-bin", str(krakend_bins["amd64-generic"]), *SHORT)
    assert out.returncode == 17, out.stdout + out.stderr
    assert "KrakenD refused plugin 'hello'" in out.stderr
    assert "plugin was built with a different version of package github.com/google/uuid" in out.stderr
    assert krakends_running() == [] and drivers_running() == []


def test_a_baseline_krakend_refuses_and_bad_values(hello, krakend_bins, tmp_path):
    krakend = str(krakend_bins["amd64-generic"])
    refused = tmp_path / "refused.json"
    refused.write_text(json.dumps({"version": 3, "endpoints": [{"endpoint": "/hello", "backend": []}]}))
    out = bench(hello, "--krakend-bin", krakend, *SHORT, "--baseline", str(refused))
    assert out.returncode == 17 and "baseline arm: KrakenD exited with status" in out.stderr
    assert "0 backends defined" in out.stderr, out.stderr
    for args, status, said in (
            (["--rounds", "0"], 2, "--rounds 0"), (["--max-overhead", "1 parsec"], 2, "not a time"),
            (["--max-overhead=-5%"], 2, "not a time"), (["--rate", "0"], 2, "--rate 0"),
            (["--baseline", str(tmp_path)], 10, "cannot read"), (["--baseline", "/nonexistent.json"], 10,
                                                                   "does not exist"),
            (["--plot", str(tmp_path / "missing" / "p.svg")], 2, "--plot"), (["--duration", "0"], 2, "--duration")):
        out = bench(hello, "--krakend-bin", krakend, *args)
        assert out.returncode == status and said in out.stderr and "Traceback" not in out.stderr, (args, out.stderr)
    assert krakends_running() == [] and drivers_running() == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_under_load_leaves_nothing_running(hello, krakend_bins, sig):
    krakend = str(krakend_bins["amd64-generic"])
    proc = subprocess.Popen([PYTHON, "-m", "krakend_tasks", "bench", "--krakend-bin", krakend, "--rounds", "20",
                             "--rate", "100"], cwd=hello, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    output = interrupt_when(proc, lambda: any(" attack " in c for c in drivers_running()), sig, "an attack")
    assert proc.returncode == 128 + sig and "Traceback" not in output, output
    time.sleep(0.3)
    assert krakends_running() == [] and drivers_running() == []


def test_krakends_image_by_default_a_baseline_linked_from_outside_and_the_configs_port_held(
        hello, krakend_image, docker_client, tmp_path):
    """The default KrakenD is its image (the host's alpine build), as for smoke; --baseline may be a
    link to a file outside the project (it is only read); the config's own port taken changes nothing."""
    import socket

    from .conftest import our_containers

    build_in(load_settings(hello, engine="local", version=VERSION, targets="amd64-alpine"))
    outside = tmp_path / "elsewhere" / "plain.json"
    outside.parent.mkdir()
    config = json.loads((hello / "krakend.json").read_text())
    outside.write_text(json.dumps(without_plugins(config, {"server": {"hello"}})))
    (hello / "baseline.json").symlink_to(outside)
    before = outside.read_bytes()
    with socket.socket() as held:
        held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        held.bind(("0.0.0.0", config["port"]))
        held.listen()
        out = run([PYTHON, "-m", "krakend_tasks", "bench", *SHORT, "--baseline", "baseline.json", "--json"], hello,
                  env={"KRAKEND_TASKS_KRAKEND_IMAGE": krakend_image.split(":")[0], "KRAKEND_TASKS_PULL": "never"})
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout)
    assert report["krakend"] == f"image {krakend_image}" and report["target"] == "amd64-alpine"
    assert report["baseline"] == "baseline.json" and report["requests"] == ["GET /hello"]
    assert outside.read_bytes() == before and our_containers(docker_client) == []


def test_a_plugin_that_kills_krakend_under_load_is_said_with_krakends_last_lines(hello, krakend_bins):
    main = hello / "main.go"
    main.write_text(main.read_text().replace(  # its 300th request ends KrakenD: under load, after the probes
        "next.ServeHTTP(w, req)", "if atomic.AddInt64(&served, 1) > 300 {\n\t\t\t\tos.Exit(7)\n\t\t\t}\n"
        "\t\t\tnext.ServeHTTP(w, req)").replace('import (\n', 'import (\n\t"os"\n\t"sync/atomic"\n')
        + "\nvar served int64\n")
    build_in(load_settings(hello, engine="local", version=VERSION, targets="amd64-generic"))
    out = bench(hello, "--krakend-bin", str(krakend_bins["amd64-generic"]), *SHORT, "--path", "/hello")
    assert out.returncode == 17, out.stdout + out.stderr
    assert "exited with status 7" in out.stderr and "KrakenD's last lines" in out.stderr
    assert "Traceback" not in out.stderr and krakends_running() == [] and drivers_running() == []


def test_a_plugin_that_fails_every_request_is_a_fail_never_a_fast_plugin(hello, krakend_bins):
    """A panic in the handler on /hello: Go's server recovers it and drops the connection. Fast, and wrong."""
    main = hello / "main.go"
    main.write_text(main.read_text().replace("next.ServeHTTP(w, req)",
                                             'if req.URL.Path == "/hello" {\n\t\t\t\tpanic("broken")\n\t\t\t}\n'
                                             "\t\t\tnext.ServeHTTP(w, req)"))
    build_in(load_settings(hello, engine="local", version=VERSION, targets="amd64-generic"))
    out = bench(hello, "--krakend-bin", str(krakend_bins["amd64-generic"]), *SHORT, "--json")
    assert out.returncode == 1, out.stdout + out.stderr
    report = json.loads(out.stdout)
    assert report["verdict"] == "fail" and "error rates differ" in report["reasons"][0]
    assert report["arms"]["baseline"]["errors"] == {} and sum(report["arms"]["plugin"]["errors"].values()) > 0
    assert "GET /hello: the plugin arm fails it" in out.stderr
    assert "the plugin arm's errors, in KrakenD's last lines:" in out.stderr and "broken" in out.stderr


def test_a_rate_the_machine_cannot_hold_is_said_with_what_it_held(hello, krakend_bins):
    out = bench(hello, "--krakend-bin", str(krakend_bins["amd64-generic"]), "--rounds", "2", "--duration", "1",
                "--rate", "20000")
    assert out.returncode == 18, out.stdout + out.stderr
    assert "this machine cannot hold 20000 requests/s" in out.stderr and "it held about" in out.stderr
    assert krakends_running() == [] and drivers_running() == []
