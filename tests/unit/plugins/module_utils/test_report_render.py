"""report_render: every format from the fixture store's report, with hostile strings escaped."""

import base64
import csv
import hashlib
import html
import io
import json
import re
import socket
import stat
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils import report_render
from ansible_collections.patchpilot.fleet.plugins.module_utils.history_store import Store
from ansible_collections.patchpilot.fleet.plugins.module_utils.report_model import build
from support.history_fixture import EXPECTED, TODAY, records

HOSTILE = "</script><script>alert(2)</script>"


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    store = Store.sqlite(str(tmp_path_factory.mktemp("state") / "history.sqlite"))
    rows = records()
    for row in rows:  # a hostile CMDB group and package name too
        if row["kind"] == "asset" and row["host"] == "app1":
            row["data"]["group"] = HOSTILE
        if row.get("package") == "nginx":
            row["package"] = "=cmd|' /C calc'!A0"
    store.append(rows)
    built = build(store.records(), TODAY, chain=store.verify(), generated="2026-12-05T12:00:00+00:00")
    store.close()
    return built


def scripts(page: str) -> list:
    return re.findall(r"<script\b[^>]*>(.*?)</script>", page, re.S)


def test_html_renders_host_and_cmdb_strings_as_text(model):
    page = report_render.to_html(model)
    assert "<script>alert" not in page and "alert(1)</script>" not in page
    assert "&lt;script&gt;alert(&#x27;cmdb&#x27;)&lt;/script&gt;" in page  # the CMDB location of db1
    assert "vendor certification pending &lt;script&gt;alert(1)&lt;/script&gt;" in page  # an exception's reason
    assert "&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in page  # a group, in the tables
    assert len(scripts(page)) == 2  # the data and the drawing script, nothing a string opened
    data = json.loads(re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)[1])
    assert HOSTILE in [g["label"] for g in data["groups"]]  # the JSON keeps the text, escaped as \u003c


def test_html_is_self_contained_and_only_its_own_script_may_run(model):
    page = report_render.to_html(model)
    assert not re.search(r"""(src|href)\s*=|url\(|@import""", page)
    assert re.findall(r"https?://[^\s\"'<]+", page) == ["http://www.w3.org/2000/svg"]  # a namespace, not a fetch
    csp = html.unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)[1])
    code = scripts(page)[1]
    digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp and "default-src 'none'" in csp


def test_html_has_every_section_and_a_drill_down_per_host(model):
    page = report_render.to_html(model)
    for title in ("Compliance per group", "Pending updates by severity", "SLA breaches", "Compliance over runs",
                  "Outdated (end-of-life) machines", "Audit checklist", "Asset inventory", "Lifecycle funnel per run",
                  "Exceptions", "Runs"):
        assert f">{title}<" in page
    assert len(re.findall(r'<details class="host"', page)) == len(model["hosts"]) == 4
    assert page.count('<span class="notdone">not done</span>') == sum(not c["done"] for c in model["checklist"]) > 0
    assert 'id="chain" data-ok="true"' in page


def test_embedded_json_cannot_end_its_script():
    text = report_render.embedded_json({"a": "</script><!-- & \u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"a": "</script><!-- & \u2028"}


def test_a_broken_chain_shows_where(model):
    broken = dict(model, chain={"ok": False, "broken_at": 17, "reason": "record 17 was changed after it was written"})
    page = report_render.to_html(broken)
    assert 'data-broken-at="17"' in page and "BROKEN at record 17" in page
    assert "patchpilot_history_chain_ok 0" in report_render.to_openmetrics(broken)


def test_json_is_the_model(model):
    assert json.loads(report_render.to_json(model)) == json.loads(json.dumps(model))


def test_csv_files_agree_with_the_model_and_hold_no_formula(model):
    files = report_render.to_csv(model)
    hosts = list(csv.DictReader(io.StringIO(files["hosts.csv"])))
    assert {h["host"]: h["share"] for h in hosts} == {"app1": "0.0", "db1": "1.0", "web1": "1.0", "web2": "0.0"}
    updates = list(csv.DictReader(io.StringIO(files["updates.csv"])))
    assert {(u["host"], u["package"]): u["verdict"] for u in updates if u["package"] != "'=cmd|' /C calc'!A0"} == {
        k: v for k, v in EXPECTED["verdicts"].items() if k[1] != "nginx"}
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in updates for cell in row.values())
    assert [r["run_id"] for r in csv.DictReader(io.StringIO(files["runs.csv"]))] == ["run-1", "run-2"]
    assert len(list(csv.DictReader(io.StringIO(files["inventory.csv"])))) == 4


def test_junit_has_one_case_per_host_failing_the_bad_ones(model):
    root = ET.fromstring(report_render.to_junit(model))
    cases = {case.get("name"): case for case in root.iter("testcase")}
    assert set(cases) == {"web1", "web2", "db1", "app1"}
    assert {name: case.find("failure") is not None for name, case in cases.items()} == EXPECTED["failing"]
    assert "late (active on 2026-11-30" in cases["web2"].find("failure").text
    assert cases["app1"].get("classname") == f"patchpilot.{HOSTILE}"  # escaped by the XML writer, parsed back
    assert root.find("testsuite").get("failures") == "2"


def test_junit_drops_characters_xml_cannot_hold():
    host = {"host": "h\x01", "group": None, "failing": "boom\x1b[31m", "updates": []}
    text = report_render.to_junit({"hosts": [host], "run_id": "r", "today": "2026-12-05", "chain": None})
    case = ET.fromstring(text).find(".//testcase")
    assert case.get("name") == "h" and case.find("failure").get("message") == "boom[31m"


LINE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\n"])*",?)*\})? '
                  r'-?[0-9.]+(e[+-]?[0-9]+)?$')


def test_openmetrics_is_valid_exposition_text(model):
    text = report_render.to_openmetrics(model)
    assert text.endswith("\n# EOF\n") and text.count("# EOF") == 1
    families = {}
    for line in text.splitlines()[:-1]:
        if line.startswith("# TYPE "):
            name, kind = line.split()[2:4]
            assert kind == "gauge" and name not in families
            families[name] = 0
        elif line.startswith("# HELP "):
            assert line.split()[2] in families
        else:
            assert LINE.match(line), line
            families[re.match(r"[a-z_]+", line)[0]] += 1
    assert 'patchpilot_compliance_ratio{scope="fleet"} 0.6667' in text
    assert 'patchpilot_compliance_ratio{scope="group",group="<\\/script>' not in text
    assert 'group="</script><script>alert(2)</script>"' in text  # label values need only \\ \" \n escaped
    assert 'patchpilot_pending_updates{severity="high"} 1' in text and "patchpilot_outdated_hosts 1" in text


def test_openmetrics_label_escapes():
    assert report_render._labels(host='a"b\\c\nd') == '{host="a\\"b\\\\c\\nd"}'


def test_write_makes_private_files_in_a_private_folder(tmp_path, model):
    paths = report_render.write(str(tmp_path / "reports" / "history"), report_render.render(model, ["html", "csv"]))
    assert sorted(paths) == ["hosts.csv", "inventory.csv", "report.html", "runs.csv", "updates.csv"]
    assert stat.S_IMODE((tmp_path / "reports" / "history").stat().st_mode) == 0o700
    assert all(stat.S_IMODE((tmp_path / "reports" / "history" / n).stat().st_mode) == 0o600 for n in paths)
    assert not [p for p in (tmp_path / "reports" / "history").iterdir() if p.name.startswith(".tmp-")]


def test_an_unknown_format_is_one_clear_error(model):
    with pytest.raises(report_render.RenderError, match="formats: pdf not one of html"):
        report_render.render(model, ["html", "pdf"])


NOW = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)
RFC5424 = re.compile(rb'^<(\d+)>1 (\S+) (\S+) (\S+) (\d+) (\S+) (\[patchpilot@32473( [a-z_]+="([^"\\\]]|\\.)*")*\]) (.*)$')


def test_syslog_events_are_rfc5424(model):
    events = report_render.syslog_events(model)
    assert [e[1] for e in events] == ["report", "host", "host", "overdue", "overdue"]
    messages = [report_render.syslog_message(e, "ctl 1", now=NOW) for e in events]
    for message in messages:
        parsed = RFC5424.match(message)
        assert parsed, message
        assert parsed[2] == b"2026-12-05T12:00:00.000+00:00" and parsed[3] == b"ctl_1" and parsed[4] == b"patchpilot"
    assert RFC5424.match(messages[0])[1] == b"133"  # local0.notice
    assert RFC5424.match(messages[1])[1] == b"132"  # local0.warning
    assert b"fleet compliance 66.7 % (4 of 6)" in messages[0]


def test_syslog_structured_data_escapes():
    event = ("warning", "host", {"host": 'a"]\\b\nc'}, "x\ny")
    message = report_render.syslog_message(event, "h", now=NOW)
    assert b'[patchpilot@32473 host="a\\"\\]\\\\b c"] x y' in message


def test_syslog_reaches_a_udp_listener_on_loopback():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        server.settimeout(5)
        messages = [b"<133>1 - h patchpilot 1 report - one", b"<133>1 - h patchpilot 1 report - two"]
        assert report_render.send_syslog(messages, "127.0.0.1", server.getsockname()[1], "udp") == 2
        assert [server.recv(4096) for _message in messages] == messages


def test_syslog_over_tcp_uses_octet_counting():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(5)
        report_render.send_syslog([b"<133>1 abc", b"<132>1 de"], "127.0.0.1", server.getsockname()[1], "tcp")
        conn, _address = server.accept()
        with conn:
            conn.settimeout(5)
            got = b""
            while len(got) < len(b"10 <133>1 abc9 <132>1 de"):
                got += conn.recv(4096)
        assert got == b"10 <133>1 abc9 <132>1 de"


def test_syslog_nobody_listening_on_tcp_is_one_clear_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(report_render.RenderError, match=f"syslog 127.0.0.1:{port}/tcp: "):
        report_render.send_syslog([b"x"], "127.0.0.1", port, "tcp")


def test_an_empty_store_renders_every_format():
    files = report_render.render(build([], TODAY, chain={"ok": True, "checked": 0}), report_render.FORMATS)
    assert "no runs recorded" in files["report.html"] and files["patchpilot.prom"].endswith("# EOF\n")
    assert ET.fromstring(files["junit.xml"]).find("testsuite").get("tests") == "0"
    assert "patchpilot_compliance_ratio{" not in files["patchpilot.prom"]  # no share without approved updates


def test_the_html_lists_a_renamed_machine_with_its_earlier_name_escaped():
    machine = "a" * 32
    rows = [{"kind": "asset", "id": 1, "at": "2026-11-01T10:00:00+00:00", "host": "web01", "machine_id": machine,
             "data": {}},
            {"kind": "asset", "id": 2, "at": "2026-11-02T10:00:00+00:00", "host": "web<b>02", "machine_id": machine,
             "data": {}}]
    page = report_render.render(build(rows, TODAY), ["html"])["report.html"]
    section = page.split("<h2>Renamed and reinstalled machines</h2>", 1)[1].split("<h2>", 1)[0]
    assert machine in section and "web&lt;b&gt;02" in section and "<td>web01</td>" in section
    empty = report_render.render(build(rows[:1], TODAY), ["html"])["report.html"]
    assert "no machine was renamed or reinstalled" in empty
