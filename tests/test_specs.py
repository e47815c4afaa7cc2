"""smoke --specs: KrakenD's own integration specs, judged as KrakenD's harness judges them.

The yardstick is krakend-integration, compiled from the same krakend-ce source as the KrakenD
(.ci/krakend.sh): both run the same specs on the same config and the same real plugin (a
scaffolded server plugin whose paths answer what each rule needs), and every spec must get the
same verdict, failures in the same words.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from krakend_tasks.core.golang.printing import go_json, go_value
from krakend_tasks.core.krakend.releases import resolve
from krakend_tasks.core.project.settings import load_settings
from krakend_tasks.core.serving.gateway import free_port
from krakend_tasks.core.serving.specs import read_specs
from krakend_tasks.core.workflows.scaffold import new

from .conftest import PYTHON, ROOT, VERSION, build_in, run

BASE = "/__rules"


def generated_specs(port: int) -> dict[str, dict]:
    """name -> spec, covering each rule of tests/integration.go, passing and failing."""
    url = f"http://localhost:{port}{BASE}"
    json_doc = {"a": 1.0, "b": [True, None, "s"], "c": {"d": 1.5}, "n": 9007199254740992}
    echo_schema = {"type": "object", "properties": {"method": {"const": "POST"}, "body": {"const": "x"}},
                   "required": ["method", "body"]}

    def case(path: str, out: dict, method: str = "GET", error: str | None = None, **given) -> dict:
        return {"in": {"method": method, "url": url + path, **given}, "out": out,
                **({"error": error} if error else {})}

    return {
        "status_ok": case("", {"status_code": 200, "body": "hello from rules\n"}),
        "status_wrong": case("/created", {"status_code": 200}),
        "status_typo": case("", {"status": 200}),
        "header_whole_list": case("/cookies", {"status_code": 200, "header": {"Set-Cookie": ["a=1", "b=2"]}}),
        "header_part_of_list": case("/cookies", {"status_code": 200, "header": {"Set-Cookie": ["a=1"]}}),
        "header_absent": case("/cookies", {"status_code": 200, "header": {"X-Nothing": [""]}}),
        "header_absent_but_there": case("/cookies", {"status_code": 200, "header": {"Set-Cookie": [""]}}),
        "header_not_present": case("/cookies", {"status_code": 200, "header": {"X-Nothing": ["x"]}}),
        "header_any_case": case("", {"status_code": 200, "header": {"content-type": ["text/plain; charset=utf-8"]}}),
        "body_string_exact": case("", {"status_code": 200, "body": "hello from rules"}),
        "body_json_equal": case("/json", {"status_code": 200, "body": json_doc}),
        "body_json_bool_is_no_number": case("/json", {"status_code": 200, "body": {**json_doc, "a": True}}),
        "body_string_of_json": case("/json", {"status_code": 200, "body": json.dumps(json_doc)}),
        "body_json_of_text": case("", {"status_code": 200, "body": {"x": 1}}),
        "schema_holds": case("/json", {"status_code": 200, "schema": {"type": "object", "required": ["a", "b"]}}),
        "schema_fails": case("/json", {"status_code": 200,
                                       "schema": {"properties": {"a": {"type": "string"}}}}),
        "schema_over_body": case("/json", {"status_code": 200, "body": "not this", "schema": {"type": "object"}}),
        "schema_empty_body": case("/empty", {"status_code": 204, "schema": {"type": "object"}}),
        "schema_draft4_integer": case("/json", {"status_code": 200, "schema": {
            "$schema": "http://json-schema.org/draft-04/schema#", "properties": {"a": {"type": "integer"}}}}),
        "schema_draft7_format": case("/echo", {"status_code": 200, "schema": {
            "$schema": "http://json-schema.org/draft-07/schema#", "properties": {"body": {"format": "ipv4"}}}},
                                     method="POST", body="not-an-ip"),
        "schema_2020_format": case("/echo", {"status_code": 200, "schema": {
            "properties": {"body": {"format": "ipv4"}}}}, method="POST", body="not-an-ip"),
        "schema_on_text": case("", {"status_code": 200, "schema": {"type": "object"}}),
        "gzip_decoded_by_the_client": case("/gzip", {"status_code": 200, "body": {"zipped": True},
                                                     "header": {"Content-Encoding": [""]}}),
        "gzip_asked_for": case("/gzip", {"status_code": 200, "body": {"zipped": True},
                                         "header": {"Content-Encoding": ["gzip"]}},
                               header={"Accept-Encoding": "gzip"}),
        "redirect_followed": case("/redirect", {"status_code": 200, "body": json_doc}),
        "redirect_307_keeps_method_and_body": case("/redirect307", {"status_code": 200, "schema": echo_schema},
                                                   method="POST", body="x"),
        "redirect_loop_is_the_error": case("/loop", {"status_code": 200},
                                           error=f'Get "{BASE}/loop": stopped after 10 redirects'),
        "redirect_loop_unexpected": case("/loop", {"status_code": 200}),
        "dropped_connection_is_the_error": case("/panic", {"status_code": 200}, error=f'Get "{url}/panic": EOF'),
        "error_ignored_when_answered": case("", {"status_code": 200}, error="never happens"),
        # one header per name: the harness reads `header` into a Go map, so two names that differ in case
        # only ("X-A", "x-a") reach the request in Go's map order, which is random (it failed 1 run in 8)
        "request_as_go_sends_it": case("/echo", {"status_code": 200, "body": {
            "method": "GET", "host": "gateway.example", "body": "", "query": "",
            "headers": {"Accept-Encoding": ["gzip"], "User-Agent": ["Go-http-client/1.1"], "X-A": ["1"]}}},
                                       header={"Host": "gateway.example", "x-a": "1"}),
        "json_body_as_go_marshals_it": case("/echo?q=1", {"status_code": 200, "schema": {"properties": {
            "body": {"const": '{"a":"\\u003cx\\u003e","b":1}'}, "query": {"const": "q=1"}}}},
                                            method="PUT", body={"b": 1.0, "a": "<x>"}),
        "wrong_everything": case("/created", {"status_code": 200, "body": {"id": 8},
                                              "header": {"Content-Type": ["text/html"], "X-Nothing": ["1"]}}),
    }


PASSING = {"status_ok", "header_whole_list", "header_absent", "header_any_case", "body_json_equal", "schema_holds",
           "schema_over_body", "schema_draft4_integer", "schema_2020_format", "gzip_decoded_by_the_client",
           "gzip_asked_for", "redirect_followed", "redirect_307_keeps_method_and_body", "redirect_loop_is_the_error",
           "dropped_connection_is_the_error", "error_ignored_when_answered", "request_as_go_sends_it",
           "json_body_as_go_marshals_it"}


@pytest.fixture(scope="module")
def rules(tmp_path_factory, krakend_bins) -> Path:
    """A scaffolded server plugin whose handler answers each rule's path, built for amd64 glibc."""
    project = tmp_path_factory.mktemp("specs") / "rules"
    new(project, "server", release=resolve(VERSION))
    shutil.copy(ROOT / "tests" / "data" / "specs" / "rules.go", project / "main.go")
    (project / "main_test.go").unlink()
    build_in(load_settings(project, engine="local", targets="amd64-generic"))
    return project


def with_specs(project: Path, specs: dict[str, dict], port: int) -> Path:
    """The project's config on `port` (its plugin folder holding the build) and a folder of specs."""
    config = json.loads((project / "krakend.json").read_text())
    folder = project / "plugins"
    folder.mkdir(exist_ok=True)
    shutil.copy(project / "dist" / f"rules-{VERSION}-amd64-generic.so", folder / "rules.so")
    config |= {"port": port, "plugin": {"pattern": ".so", "folder": f"{folder}/"}}
    (project / "krakend.json").write_text(json.dumps(config, indent=2))
    specs_dir = project / "specs"
    shutil.rmtree(specs_dir, ignore_errors=True)
    specs_dir.mkdir()
    for name, spec in specs.items():
        (specs_dir / f"{name}.json").write_text(json.dumps(spec, indent=2))
    return specs_dir


def harness_verdicts(harness: Path, krakend: Path, project: Path, specs_dir: Path, *flags: str) -> dict[str, list]:
    """name -> [] (ok), or KrakenD's own messages for it, from krakend-integration's output."""
    out = subprocess.run([str(harness), "-krakend_bin_path", str(krakend), "-krakend_config_path",
                          str(project / "krakend.json"), "-krakend_specs_path", str(specs_dir),
                          "-krakend_backend_port", str(free_port()), *flags],
                         capture_output=True, text=True, timeout=300)
    verdicts: dict[str, list] = {}
    current = None
    for line in out.stdout.splitlines():
        named = re.match(r"^([\w-]+): (.*)$", line)
        if named and (specs_dir / f"{named.group(1)}.json").is_file():
            current = named.group(1)
            said = named.group(2)
            verdicts[current] = [] if said == "ok" else ([] if said == "wrong response:" else [said])
        elif current and (line.startswith("\t") or not line):
            if (line.startswith("\t\t") or not line) and verdicts[current]:  # a message's second line
                verdicts[current][-1] += "\n" + line
            else:
                verdicts[current].append(line[1:])
    assert len(verdicts) == len(list(specs_dir.glob("*.json"))), out.stdout + out.stderr
    return {name: [m.rstrip("\n") for m in said] for name, said in verdicts.items()}


def comparable(message: str) -> str:
    """What must be equal in two failure messages: the whole of it, but the headers map of a missing
    header (its Date changes) and the words of the JSON decoder and schema validator (Go's there,
    Python's here) after KrakenD's own."""
    message = re.sub(r"(not present: )map\[.*", r"\1map[...]", message, flags=re.S)
    return re.sub(r"^(problem (validating|unmarshaling) the body: ).*", r"\1...", message, flags=re.S)


def test_every_spec_gets_krakends_verdict_in_krakends_words(rules, krakend_bins, krakend_integration):
    port = free_port()
    specs_dir = with_specs(rules, generated_specs(port), port)
    krakend = krakend_bins["amd64-generic"]
    theirs = harness_verdicts(krakend_integration, krakend, rules, specs_dir,
                              "-krakend_ready_url", f"http://localhost:{port}/__health")
    out = run([PYTHON, "-m", "krakend_tasks", "smoke", "--krakend-bin", str(krakend), "--specs", "specs",
               "--keep-backends", "--format", "json"], rules)
    assert out.returncode == 1, out.stdout + out.stderr
    report = json.loads(out.stdout)
    ours = {s["name"]: s["problems"] for s in report["specs"] if s["source"].endswith(".json")}
    assert {n: not p for n, p in ours.items()} == {n: not p for n, p in theirs.items()}
    assert {n for n, p in ours.items() if not p} == PASSING
    for name, problems in theirs.items():
        assert sorted(map(comparable, ours[name])) == sorted(map(comparable, problems)), name
    assert "KrakenD's harness ignores the key 'out.status' (so KrakenD compares the status with 0); did you mean " \
           "'out.status_code'?" in out.stderr


def test_redirects_not_followed_as_the_harness_is_told(rules, krakend_bins, krakend_integration):
    port = free_port()
    specs = {"redirect_itself": {"in": {"method": "GET", "url": f"http://localhost:{port}{BASE}/redirect"},
                                 "out": {"status_code": 302, "header": {"Location": [f"{BASE}/json"]}}},
             "redirect_followed": generated_specs(port)["redirect_followed"]}
    specs_dir = with_specs(rules, specs, port)
    krakend = krakend_bins["amd64-generic"]
    theirs = harness_verdicts(krakend_integration, krakend, rules, specs_dir, "-client_not_follow_redirects",
                              "-krakend_ready_url", f"http://localhost:{port}/__health")
    out = run([PYTHON, "-m", "krakend_tasks", "smoke", "--krakend-bin", str(krakend), "--specs", "specs",
               "--keep-backends", "--no-follow-redirects", "--json"], rules)
    ours = {s["name"]: s["problems"] for s in json.loads(out.stdout)["specs"] if s["source"].endswith(".json")}
    assert {n: not p for n, p in ours.items()} == {n: not p for n, p in theirs.items()} == {
        "redirect_itself": True, "redirect_followed": False}


def test_smoke_requests_get_the_same_checks_and_junit_and_table(rules, krakend_bins, tmp_path):
    port = free_port()
    with_specs(rules, {"ok": generated_specs(port)["status_ok"]}, port)
    (rules / "krakend-tasks.toml").write_text(f'''version = "{VERSION}"
smoke_specs = "specs"

[[smoke]]
path = "{BASE}/json"
response_body = {{ a = 1, b = [true, "x", "s"], c = {{ d = 1.5 }}, n = 9007199254740993 }}

[[smoke]]
path = "{BASE}/cookies"
response_headers = {{ Set-Cookie = ["a=1", "b=2"], X-Nothing = "" }}
response_body = "ok"

[[smoke]]
path = "{BASE}/json"
schema = {{ type = "object", required = ["zz"] }}
''')
    report_file = tmp_path / "smoke.xml"
    out = run([PYTHON, "-m", "krakend_tasks", "smoke", "--krakend-bin", str(krakend_bins["amd64-generic"]),
               "--keep-backends", "--junit", str(report_file)], rules)
    assert out.returncode == 1, out.stdout + out.stderr
    rows = [line.split("\t") for line in out.stdout.splitlines()]
    assert [(r[0], r[1], r[2]) for r in rows[2:6]] == [
        ("smoke-1", f"GET {BASE}/json", "KO"), ("smoke-2", f"GET {BASE}/cookies", "OK"),
        ("smoke-3", f"GET {BASE}/json", "KO"), ("ok", f"GET {BASE}", "OK")]
    assert "smoke-1 ([[smoke]] #1): unexpected body.\n\t\thave: map[a:1 b:[true <nil> s]" in out.stdout
    assert "smoke-3 ([[smoke]] #3): problem validating the body: at '': 'zz' is a required property" in out.stdout
    suite = ET.parse(report_file).getroot().find("testsuite")
    assert suite.get("name") == "smoke amd64-generic" and suite.get("tests") == "4" and suite.get("failures") == "2"
    failed = {c.get("name"): c.find("failure") for c in suite.iter("testcase")}
    assert failed["smoke-2"] is None and failed["ok"] is None
    assert failed["smoke-1"].get("message") == "unexpected body."


def test_a_spec_url_off_this_machine_is_refused_before_anything_starts(rules, krakend_bins):
    port = free_port()
    with_specs(rules, {"away": {"in": {"url": f"http://192.0.2.1:{port}/"}, "out": {"status_code": 200}}}, port)
    out = run([PYTHON, "-m", "krakend_tasks", "smoke", "--krakend-bin", str(krakend_bins["amd64-generic"]),
               "--specs", "specs"], rules)
    assert out.returncode == 2 and "starting KrakenD" not in out.stderr, out.stderr
    assert "names the host 192.0.2.1, not this machine's KrakenD: a smoke run never sends traffic off this " \
           "machine" in out.stderr


def test_a_redirect_off_this_machine_is_not_followed(rules, krakend_bins):
    port = free_port()
    away = {"in": {"url": f"http://localhost:{port}{BASE}/echo"}, "out": {"status_code": 200}}
    with_specs(rules, {"away": away}, port)
    main = rules / "main.go"
    original = main.read_text()
    try:
        main.write_text(original.replace('case base + "/loop":', 'case base + "/away":\n\t\t\thttp.Redirect(w, '
                                         'req, "http://192.0.2.1/x", http.StatusFound)\n\t\tcase base + "/loop":'))
        build_in(load_settings(rules, engine="local", targets="amd64-generic"))
        away["in"]["url"] = f"http://localhost:{port}{BASE}/away"
        with_specs(rules, {"away": away}, port)
        out = run([PYTHON, "-m", "krakend_tasks", "smoke", "--krakend-bin", str(krakend_bins["amd64-generic"]),
                   "--specs", "specs", "--json"], rules)
    finally:
        main.write_text(original)
        build_in(load_settings(rules, engine="local", targets="amd64-generic"))
    [spec] = [s for s in json.loads(out.stdout)["specs"] if s["name"] == "away"]
    assert spec["problems"] == ["unexpected status code. have: 302, want: 200", "302 redirect to http://192.0.2.1/x: "
                                "not followed, a smoke run sends requests only to the KrakenD it runs"]


def test_an_answer_that_never_comes_times_out_and_krakend_is_stopped(rules, krakend_bins):
    from .test_smoke import krakends_running

    port = free_port()
    with_specs(rules, {"slow": {"in": {"url": f"http://localhost:{port}{BASE}/json"}, "out": {"status_code": 200}}},
               port)
    config = json.loads((rules / "krakend.json").read_text())
    # a backend that accepts and never answers, behind an endpoint KrakenD waits on
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        config["timeout"] = "30s"
        config["endpoints"] = [{"endpoint": "/slow", "backend": [{"host": [f"http://127.0.0.1:{silent.getsockname()[1]}"],
                                                                  "url_pattern": "/"}]}]
        (rules / "krakend.json").write_text(json.dumps(config))
        slow = {"in": {"url": f"http://localhost:{port}/slow"}, "out": {"status_code": 200}}
        with_specs(rules, {"slow": slow, "then_ok": generated_specs(port)["status_ok"]}, port)
        out = run([PYTHON, "-m", "krakend_tasks", "smoke", "--krakend-bin", str(krakend_bins["amd64-generic"]),
                   "--specs", "specs", "--keep-backends", "--request-timeout", "1", "--json"], rules)
    assert out.returncode == 1
    specs = {s["name"]: s["problems"] for s in json.loads(out.stdout)["specs"]}
    assert specs["slow"] == ["no answer within 1 s (--request-timeout)"] and specs["then_ok"] == []
    assert krakends_running() == []


@pytest.mark.parametrize(("text", "said"), [
    ('{"in": {"url": "http://localhost:8080/"}, "out": {"status_code": 200,}}',
     "x.json:1:70: not valid JSON: Expecting property name enclosed in double quotes"),
    ("[1, 2]", "x.json: a spec is a JSON object, not an array"),
    ('{"in": "GET /"}', "x.json: in is a string, not an object"),
    ('{"in": {"url": "http://localhost:8080/"}, "out": {"status_code": "200"}}',
     "x.json: out.status_code = '200': not an integer"),
    ('{"in": {"url": "http://localhost:8080/"}, "out": {"status_code": 200.5}}',
     "x.json: out.status_code = 200.5: not an integer"),
    ('{"in": {"url": "http://localhost:8080/", "header": {"X": 1}}}', 'x.json: in.header.X = 1: not a string'),
    ('{"in": {"url": "http://localhost:8080/"}, "out": {"header": {"X": "a"}}}',
     'x.json: out.header.X = "a": not a list of strings'),
    ('{"in": {"url": "http://localhost:8080/"}, "out": {"header": {"X": []}}}',
     "x.json: out.header.X = []: not a list of strings"),
    ('{"in": {"url": "http://localhost:8080/"}, "out": {"schema": true}}', "x.json: out.schema is a boolean"),
    ('{"in": {"url": "https://example.com/"}}', "is not an http:// URL"),
    ('{"in": {"url": "http://10.0.0.1:8080/"}}', "names the host 10.0.0.1, not this machine's KrakenD"),
    ('{"in": {"url": "http://localhost:9999/"}}', "is at port 9999, and the config's KrakenD listens on 8080"),
    ('{"in": {"url": "http://localhost/"}}', "is at port 80, and the config's KrakenD listens on 8080"),
    ('{"in": {"url": "http://localhost:99999/"}}', "is not a URL: Port out of range"),
    ("", "x.json:1:1: not valid JSON: Expecting value"),
    ('{"in": {"url": "http://localhost:8080/"}, "out": {"status_code": NaN}}', "x.json: not valid JSON: NaN"),
])
def test_a_spec_that_is_not_one_is_refused_naming_the_file(tmp_path, text, said):
    from krakend_tasks.errors import ConfigError

    (tmp_path / "x.json").write_text(text)
    with pytest.raises(ConfigError) as raised:
        read_specs(tmp_path, 8080)
    assert said in raised.value.message and str(tmp_path / "x.json") in raised.value.message


def test_specs_folders_that_hold_none(tmp_path):
    from krakend_tasks.errors import ConfigError

    with pytest.raises(ConfigError, match="does not exist"):
        read_specs(tmp_path / "nowhere", 8080)
    (tmp_path / "notes.txt").write_text("no spec here")
    with pytest.raises(ConfigError, match=r"has no \*\.json spec"):
        read_specs(tmp_path, 8080)


def test_keys_the_harness_ignores_are_named_and_fields_match_in_any_case(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"IN": {"URL": "http://127.0.0.1:8080/x?y=1", "methd": "POST"},
                                                 "out": {"Status_Code": 201, "@comment": "kept quiet"},
                                                 "next": []}))
    [spec], warnings = read_specs(tmp_path, 8080)
    assert (spec.name, spec.method, spec.request, spec.expect.status) == ("a", "GET", "GET /x?y=1", 201)
    assert [w.split(": ", 1)[1] for w in warnings] == [
        "KrakenD's harness never sends the `next` cases, and neither does smoke",
        "KrakenD's harness ignores the key 'in.methd'; did you mean 'in.method'?"]


def test_values_print_as_go_prints_them(tmp_path):
    """fmt's %v and json.Marshal, by the real Go toolchain, on the values of failure messages and bodies."""
    values = [0, 42, -3, 1.5, 100000, 123456, 1234567, 1e20, 1e21, 1.5e22, 0.0001, 0.00001, 1e-6, 1e-7, 1.5e-7,
              123456789.125, 9007199254740993, {"b": [1, "x", None, True], "a": {"<&>": "\u2028 <t>"}}, "s", [], {}]
    (tmp_path / "go.mod").write_text("module show\n\ngo 1.22\n")
    (tmp_path / "main.go").write_text('''package main

import ("encoding/json"; "fmt"; "os")

func main() {
	var values []interface{}
	json.Unmarshal([]byte(os.Args[1]), &values)
	for _, v := range values {
		b, _ := json.Marshal(v)
		fmt.Printf("%v\\t%s\\n", v, b)
	}
}
''')
    go = subprocess.run(["go", "run", ".", json.dumps(values)], cwd=tmp_path, capture_output=True, text=True,
                        check=True).stdout
    assert go == "".join(f"{go_value(v)}\t{go_json(v)}\n" for v in values)


def test_scaffolds_come_with_a_spec_that_passes(tmp_path):
    for kind in ("server", "client", "modifier"):
        new(tmp_path / kind, kind, release=resolve(VERSION))
        [spec], warnings = read_specs(tmp_path / kind / "specs", 8080)
        assert warnings == [] and spec.name == kind
        assert load_settings(tmp_path / kind).smoke_specs == "specs"


def test_huge_answers_and_gzip_bombs_are_read_up_to_a_bound(monkeypatch):
    """Our client against a real socket server (no KrakenD needed to send a body this large): the
    bound is lowered so that the test stays small; what is read and said is the same at 64 MiB."""
    import gzip
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from krakend_tasks.core.golang import client as goclient
    from krakend_tasks.core.serving import specs

    class Big(BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"x" * 5000
            if self.path == "/bomb":
                body = gzip.compress(b"0" * 100_000)
            self.send_response(200)
            if self.path == "/bomb":
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    monkeypatch.setattr(goclient, "BODY_LIMIT", 1000)  # the client reads and the judge decodes up to it
    server = ThreadingHTTPServer(("127.0.0.1", 0), Big)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        for path in ("/big", "/bomb"):
            spec = specs.Spec("s", "x.json", "GET", f"http://localhost:{port}{path}", expect=specs.Expect(status=200))
            verdict = specs.check(spec, port)
            assert len(verdict.answer.body) == 1000 and verdict.answer.truncated, path
            assert verdict.problems == ("the answer is larger than 0.000953674 MiB: only its start was read",), path
    finally:
        server.shutdown()


def test_header_values_go_out_as_utf8_bytes_as_go_writes_them():
    """Our client against a real socket server: a value beyond Latin-1 is sent, not a crash."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from krakend_tasks.core.serving import specs

    seen = {}

    class Echo(BaseHTTPRequestHandler):
        def do_GET(self):
            seen["raw"] = self.headers.get("X-Name", "").encode("latin-1")
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        spec = specs.Spec("s", "x.json", "GET", f"http://localhost:{port}/", (("X-Name", "héllo ✓"),),
                          expect=specs.Expect(status=204))
        assert specs.check(spec, port).ok
        assert seen["raw"].decode() == "héllo ✓"
    finally:
        server.shutdown()


def test_a_header_named_twice_in_other_cases_is_said_to_be_sent_in_random_order(tmp_path):
    """KrakenD's harness reads `in.header` into a Go map: "X-A" and "x-a" go out in Go's random map order."""
    spec = tmp_path / "twice.json"
    spec.write_text(json.dumps({"in": {"url": "http://localhost:8080/x", "header": {"X-A": "1", "x-a": "2"}},
                                "out": {"status_code": 200}}))
    _, warnings = read_specs(tmp_path, 8080)
    assert len(warnings) == 1 and "names 'x-a' more than once" in warnings[0] and "random" in warnings[0]
