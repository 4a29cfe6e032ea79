# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report's formats, from report_model.build()'s data: HTML, JSON, CSV, JUnit XML,
OpenMetrics text and RFC 5424 syslog events; :func:`write` puts the files in place.

Every string that came from a host, a CMDB or a record is escaped for the format
it lands in: HTML text and attributes (html.escape), the JSON embedded in the HTML
(``<``, ``>`` and ``&`` as \\u escapes, so ``</script>`` cannot end it), CSV cells
(no formula: scan_report.csv_text), XML (escaped, control characters dropped),
OpenMetrics label values and syslog structured data (their escapes). The HTML is
self-contained: inline CSS, the data as JSON and an inline script that draws the
charts as SVG (each bar and point carries ``data-chart``, ``data-label`` and
``data-value``); a Content-Security-Policy forbids every other source, so the page
loads nothing from the network.

Plain Python, no Ansible runtime.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import html
import io
import json
import os
import re
import socket
import tempfile
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

from ansible_collections.patchpilot.fleet.plugins.module_utils.scan_report import csv_text

__all__ = ["FORMATS", "RenderError", "embedded_json", "render", "send_syslog", "syslog_events", "syslog_message",
           "to_csv", "to_html", "to_json", "to_junit", "to_openmetrics", "write"]

FORMATS = ("html", "json", "csv", "junit", "openmetrics")
FILE_MODE, DIR_MODE = 0o600, 0o700
#: The private enterprise number RFC 5612 reserves for documentation: our structured data's id.
SD_ID = "patchpilot@32473"
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class RenderError(Exception):
    """A report that cannot be written or sent; the message says which and why."""


def _pct(share) -> str:
    return "n/a" if share is None else f"{share * 100:.1f} %"


# ---------------------------------------------------------------------------
# JSON and CSV


def to_json(model: dict) -> str:
    return json.dumps(model, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, (list, tuple)):
        value = " ".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = json.dumps(value, sort_keys=True)
    return csv_text(str(value))


def _csv(rows: list, columns: tuple) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(name)) for name in columns])
    return buf.getvalue()


HOST_COLUMNS = ("host", "machine_id", "group", "location", "os", "revision", "eol_status", "last_run", "last_result",
                "last_error", "approved", "compliant", "share", "failing")
UPDATE_COLUMNS = ("host", "package", "version", "from_version", "severity", "cves", "due", "state", "verdict",
                  "reason", "overdue", "excepted", "active_at", "approved_by")
RUN_COLUMNS = ("run_id", "state", "user", "approved_by", "change_ticket", "policy_digest", "project_commit", "started",
               "finished", "hosts", "emergency", "halted")
INVENTORY_COLUMNS = ("host", "hostname", "machine_id", "location", "ip", "mac", "os", "revision", "group",
                     "eol_status", "eol_date")


def to_csv(model: dict) -> dict:
    """The CSV files: hosts (compliance), updates (every host x update), runs, inventory."""
    hosts = [dict(h, **{k: h["compliance"][k] for k in ("approved", "compliant", "share")}) for h in model["hosts"]]
    updates = [u for h in model["hosts"] for u in h["updates"]]
    return {"hosts.csv": _csv(hosts, HOST_COLUMNS), "updates.csv": _csv(updates, UPDATE_COLUMNS),
            "runs.csv": _csv(model["runs"], RUN_COLUMNS), "inventory.csv": _csv(model["inventory"], INVENTORY_COLUMNS)}


# ---------------------------------------------------------------------------
# JUnit XML


def _xml(value) -> str:
    return _XML_BAD.sub("", "" if value is None else str(value))


def to_junit(model: dict) -> str:
    """One test case per host (class: its group); a failure when it is not compliant or its last
    run failed, rolled back, left it unreachable or abandoned it."""
    failures = sum(1 for h in model["hosts"] if h["failing"])
    suite = ET.Element("testsuite", name="patchpilot.compliance", tests=str(len(model["hosts"])),
                       failures=str(failures), errors="0", skipped="0", timestamp=_xml(model.get("generated") or ""))
    properties = ET.SubElement(suite, "properties")
    for name in ("run_id", "today"):
        ET.SubElement(properties, "property", name=name, value=_xml(model.get(name)))
    ET.SubElement(properties, "property", name="chain_ok", value=str(bool((model.get("chain") or {}).get("ok"))))
    for host in model["hosts"]:
        case = ET.SubElement(suite, "testcase", classname=_xml(f"patchpilot.{host['group'] or 'ungrouped'}"),
                             name=_xml(host["host"]))
        if host["failing"]:
            failure = ET.SubElement(case, "failure", message=_xml(host["failing"]), type="NonCompliant")
            failure.text = _xml("\n".join(f"{u['package']} {u['version']}: {u['verdict']} ({u['reason']})"
                                          for u in host["updates"] if u["approved"] and u["verdict"] != "compliant"))
    root = ET.Element("testsuites", name="patchpilot", tests=suite.get("tests"), failures=suite.get("failures"))
    root.append(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# ---------------------------------------------------------------------------
# OpenMetrics


def _label(value) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels) -> str:
    shown = ",".join(f'{name}="{_label(value)}"' for name, value in labels.items() if value is not None)
    return "{" + shown + "}" if shown else ""


def to_openmetrics(model: dict) -> str:
    """The figures as OpenMetrics text (gauges), for a Prometheus textfile collector; ends with ``# EOF``."""
    families = []

    def family(name, help_text, samples):
        lines = [f"# TYPE {name} gauge", f"# HELP {name} {help_text}"]
        lines += [f"{name}{_labels(**labels)} {value}" for labels, value in samples if value is not None]
        families.append("\n".join(lines))

    comp = model["compliance"]
    family("patchpilot_compliance_ratio", "Share of approved updates active within their SLA.",
           [({"scope": "fleet"}, comp["fleet"]["share"])]
           + [({"scope": "group", "group": g}, c["share"]) for g, c in comp["groups"].items()])
    family("patchpilot_host_compliance_ratio", "Share of a host's approved updates active within their SLA.",
           [({"host": h["host"], "group": h["group"] or ""}, h["compliance"]["share"]) for h in model["hosts"]])
    family("patchpilot_host_failing", "1 when the host is not compliant or its last run ended badly.",
           [({"host": h["host"]}, int(bool(h["failing"]))) for h in model["hosts"]])
    family("patchpilot_pending_updates", "Updates not active yet, by severity.",
           [({"severity": s}, n) for s, n in model["pending"]["by_severity"].items()])
    family("patchpilot_overdue_updates", "Updates past their due date and not active.",
           [({}, len(model["overdue"]))])
    family("patchpilot_sla_breaches", "Updates active after their due date, or overdue.",
           [({}, len(model["sla_breaches"]))])
    family("patchpilot_exceptions", "Held or rejected updates.",
           [({"expired": word}, sum(1 for e in model["exceptions"] if e["expired"] == (word == "true")))
            for word in ("false", "true")])
    family("patchpilot_outdated_hosts", "Hosts whose OS release is past its end of life.",
           [({}, len(model["outdated"]))])
    chain = model.get("chain") or {}
    family("patchpilot_history_chain_ok", "1 when the history store's hash chain verifies.",
           [({}, int(bool(chain.get("ok"))))])
    return "\n".join(families) + "\n# EOF\n"


# ---------------------------------------------------------------------------
# Syslog (RFC 5424)

_FACILITY_LOCAL0 = 16
_SEVERITY = {"notice": 5, "warning": 4, "error": 3}


def syslog_events(model: dict) -> list:
    """The events a SIEM gets: the run's summary, each failing host, each overdue update, a broken chain."""
    events = []
    fleet = model["compliance"]["fleet"]
    run = next((r for r in model["runs"] if r["run_id"] == model.get("run_id")), {})
    events.append(("notice", "report", {"run": model.get("run_id"), "state": run.get("state"),
                                        "compliance": _pct(fleet["share"])},
                   f"patchpilot report: fleet compliance {_pct(fleet['share'])} ({fleet['compliant']} of"
                   f" {fleet['approved']}), {len(model['overdue'])} overdue, {model['pending']['total']} pending"))
    for host in model["hosts"]:
        if host["failing"]:
            events.append(("warning", "host", {"host": host["host"], "run": host["last_run"],
                                               "result": host["last_result"]},
                           f"{host['host']}: {host['failing']}"))
    for item in model["overdue"]:
        events.append(("warning", "overdue", {"host": item["host"], "package": item["package"],
                                              "version": item["version"], "due": item["due"]},
                       f"{item['host']}: {item['package']} {item['version']} ({item['severity']}) overdue since"
                       f" {item['due']}"))
    chain = model.get("chain") or {}
    if chain and not chain.get("ok"):
        events.append(("error", "chain", {"record": chain.get("broken_at")},
                       f"history store chain broken at record {chain.get('broken_at')}: {chain.get('reason')}"))
    return events


def _header_field(value, limit: int) -> str:
    text = re.sub(r"[^\x21-\x7e]", "_", str(value or "")) or "-"
    return text[:limit]


def _sd_value(value) -> str:
    text = re.sub(r"[\x00-\x1f\x7f]", " ", "" if value is None else str(value))
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def syslog_message(event: tuple, hostname: str, app: str = "patchpilot", now: datetime | None = None) -> bytes:
    """One event as an RFC 5424 message (facility local0)."""
    level, msgid, params, text = event
    now = now or datetime.now(timezone.utc)
    pri = _FACILITY_LOCAL0 * 8 + _SEVERITY[level]
    data = "[" + SD_ID + "".join(f' {name}="{_sd_value(value)}"' for name, value in params.items()
                                 if value is not None) + "]"
    message = re.sub(r"[\x00-\x1f\x7f]", " ", str(text))
    return (f"<{pri}>1 {now.isoformat(timespec='milliseconds')} {_header_field(hostname, 255)}"
            f" {_header_field(app, 48)} {os.getpid()} {_header_field(msgid, 32)} {data} {message}").encode("utf-8")


def send_syslog(messages: list, host: str, port: int, protocol: str = "udp", timeout: float = 5.0) -> int:
    """Send the messages (bytes) to ``host:port`` over UDP, or TCP with octet counting (RFC 6587)."""
    if protocol not in ("udp", "tcp"):
        raise RenderError(f"syslog: protocol {protocol!r} is not udp or tcp")
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as sock:
            sock.settimeout(timeout)
            sock.connect(address)
            for message in messages:
                sock.sendall(message if protocol == "udp" else str(len(message)).encode("ascii") + b" " + message)
    except OSError as exc:
        raise RenderError(f"syslog {host}:{port}/{protocol}: {exc.strerror or exc}") from exc
    return len(messages)


# ---------------------------------------------------------------------------
# HTML

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;
vertical-align:top}th{background:#f3f3f3}.bad{color:#b00020;font-weight:bold}.ok{color:#1b5e20}
.notdone{color:#fff;background:#b00020;font-weight:bold;padding:0 .3em}.done{color:#1b5e20;font-weight:bold}
.cards{display:flex;gap:1em;flex-wrap:wrap}.card{border:1px solid #ccc;padding:.5em 1em;min-width:9em}
.card b{display:block;font-size:1.6em}.charts{display:flex;gap:2em;flex-wrap:wrap}
figure{margin:0}figcaption{font-weight:bold}svg text{font-size:11px}details{margin:.3em 0}
summary{cursor:pointer}code{font-size:12px}
"""

_SCRIPT = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var NS = "http://www.w3.org/2000/svg";
  function el(name, attrs, text) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    if (text !== undefined) { node.textContent = String(text); }
    return node;
  }
  function bars(id, chart, rows, max, unit, colour) {
    var holder = document.getElementById(id);
    var w = 60 + rows.length * 70, h = 220, base = 180;
    var svg = el("svg", {width: w, height: h, viewBox: "0 0 " + w + " " + h, role: "img", "data-chart": chart});
    svg.appendChild(el("line", {x1: 40, y1: base, x2: w - 10, y2: base, stroke: "#888"}));
    rows.forEach(function (row, i) {
      var value = row.value === null ? 0 : row.value;
      var height = max > 0 ? Math.round(150 * value / max) : 0;
      var x = 50 + i * 70;
      var bar = el("rect", {x: x, y: base - height, width: 40, height: height, fill: colour(row),
                            "data-chart": chart, "data-label": row.label,
                            "data-value": row.value === null ? "" : row.value});
      bar.appendChild(el("title", {}, row.label + ": " + (row.value === null ? "n/a" : row.value + unit)));
      svg.appendChild(bar);
      svg.appendChild(el("text", {x: x + 20, y: base - height - 4, "text-anchor": "middle"},
                         row.value === null ? "n/a" : row.value + unit));
      svg.appendChild(el("text", {x: x + 20, y: base + 14, "text-anchor": "middle"}, row.label.slice(0, 12)));
    });
    holder.appendChild(svg);
  }
  function trend(id, rows) {
    var holder = document.getElementById(id);
    var w = Math.max(260, 80 + rows.length * 60), h = 220, base = 180;
    var svg = el("svg", {width: w, height: h, viewBox: "0 0 " + w + " " + h, role: "img",
                         "data-chart": "trend"});
    svg.appendChild(el("line", {x1: 40, y1: base, x2: w - 10, y2: base, stroke: "#888"}));
    svg.appendChild(el("text", {x: 4, y: 34}, "100 %"));
    var points = [];
    rows.forEach(function (row, i) {
      var x = 60 + i * 60;
      var y = row.share === null ? base : base - Math.round(150 * row.share);
      var dot = el("circle", {cx: x, cy: y, r: 4, fill: "#1565c0", "data-chart": "trend", "data-label": row.run_id,
                              "data-value": row.share === null ? "" : row.share,
                              "data-installed": row.installed, "data-failed": row.failed,
                              "data-rolled-back": row.rolled_back, "data-unreachable": row.unreachable});
      dot.appendChild(el("title", {}, row.run_id + ": " + (row.share === null ? "n/a" :
                                       (row.share * 100).toFixed(1) + " %") + ", " + row.installed + " installed"));
      svg.appendChild(dot);
      svg.appendChild(el("text", {x: x, y: base + 14, "text-anchor": "middle"}, String(i + 1)));
      if (row.share !== null) { points.push(x + "," + y); }
    });
    svg.insertBefore(el("polyline", {points: points.join(" "), fill: "none", stroke: "#1565c0"}), svg.firstChild);
    holder.appendChild(svg);
  }
  var sevColour = {critical: "#b00020", high: "#e65100", medium: "#f9a825", low: "#558b2f", unknown: "#757575"};
  bars("chart-groups", "compliance-by-group", data.groups.map(function (g) {
    return {label: g.label, value: g.share === null ? null : Math.round(g.share * 1000) / 10};
  }), 100, " %", function () { return "#2e7d32"; });
  bars("chart-severity", "pending-by-severity", data.severity, Math.max.apply(null, data.severity.map(
    function (s) { return s.value; }).concat([1])), "", function (row) { return sevColour[row.label]; });
  trend("chart-trend", data.trend);
  document.body.setAttribute("data-charts", "drawn");
}());
"""


def embedded_json(value) -> str:
    """JSON safe inside a <script> element: no ``<``, ``>`` or ``&`` that could end or open a tag."""
    return (json.dumps(value, sort_keys=True, ensure_ascii=False).replace("&", "\\u0026").replace("<", "\\u003c")
            .replace(">", "\\u003e").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _machine_id_of(key: str | None) -> str:
    """The machine id in identity's machine key (``id:<machine id>``), or the key itself."""
    return key[3:] if isinstance(key, str) and key.startswith("id:") else (key or "")


def _table(columns: list, rows: list, empty: str = "none") -> str:
    if not rows:
        return f"<p>{_e(empty)}</p>"
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def chart_data(model: dict) -> dict:
    """What the charts draw (and the browser test reads back)."""
    return {"groups": [{"label": g, "share": c["share"], "approved": c["approved"], "compliant": c["compliant"]}
                       for g, c in model["compliance"]["groups"].items()],
            "severity": [{"label": s, "value": n} for s, n in model["pending"]["by_severity"].items()],
            "trend": [{k: t[k] for k in ("run_id", "share", "installed", "failed", "rolled_back", "unreachable")}
                      for t in model["trend"]]}


def _chain_html(chain) -> str:
    if not chain:
        return "<p>Chain check: not run.</p>"
    if chain.get("ok"):
        return f'<p class="ok" id="chain" data-ok="true">Chain check: intact ({_e(chain.get("checked"))} records).</p>'
    return (f'<p class="bad" id="chain" data-ok="false" data-broken-at="{_e(chain.get("broken_at"))}">Chain check:'
            f' BROKEN at record {_e(chain.get("broken_at"))}: {_e(chain.get("reason"))}</p>')


def _host_html(host: dict) -> str:
    comp = host["compliance"]
    verdict = (f'<span class="bad">{_e(host["failing"])}</span>' if host["failing"] else '<span class="ok">ok</span>')
    rows = []
    for u in host["updates"]:
        history = "<br>".join(f"{_e(h['state'])} {_e(h['at'])}" + (f" ({_e(h['run_id'])})" if h["run_id"] else "")
                              for h in u["history"])
        css = "ok" if u["verdict"] == "compliant" else ("bad" if u["overdue"] or u["verdict"] in (
            "late", "failed", "rolled_back", "not_active") else "")
        rows.append([_e(u["package"]), _e(u["from_version"]), _e(u["version"]), _e(u["severity"]), _e(u["due"]),
                     _e(u["state"]), f'<span class="{css}">{_e(u["verdict"])}</span>', _e(u["reason"]), history])
    return (f'<details class="host" data-host="{_e(host["host"])}"><summary>{_e(host["host"])}'
            f' &middot; {_e(host["group"] or "-")} &middot; {_pct(comp["share"])} &middot; {verdict}</summary>'
            f'<p>machine-id {_e(host["machine_id"])}, OS {_e(host["os"])}, revision {_e(host["revision"])},'
            f' last run {_e(host["last_run"])}: {_e(host["last_result"])}</p>'
            + _table(["package", "from", "to", "severity", "due", "state", "verdict", "why", "history"], rows,
                     "no updates recorded") + "</details>")


def to_html(model: dict) -> str:
    """The self-contained HTML report."""
    fleet = model["compliance"]["fleet"]
    script_hash = base64.b64encode(hashlib.sha256(_SCRIPT.encode("utf-8")).digest()).decode("ascii")
    csp = f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{script_hash}'; img-src data:"
    runs = [[_e(r["run_id"]), _e(r["state"]), _e(r["user"]), _e(r["approved_by"]), _e(r["change_ticket"]),
             f"<code>{_e(str(r['policy_digest'] or '')[:19])}</code>", _e(r["project_commit"]), _e(r["started"]),
             _e(r["finished"]), _e(", ".join(f"{k} {v}" for k, v in sorted(r["results"].items())))]
            for r in model["runs"]]
    groups = [[_e(g), _e(c["compliant"]), _e(c["approved"]), _pct(c["share"])]
              for g, c in model["compliance"]["groups"].items()]
    breaches = [[_e(b["host"]), _e(b["package"]), _e(b["version"]), _e(b["severity"]), _e(b["due"]),
                 _e(b["state"]), _e(b["reason"])] for b in model["sla_breaches"]]
    overdue = [[_e(o["host"]), _e(o["package"]), _e(o["version"]), _e(o["severity"]), _e(o["due"]),
                _e(o["days_overdue"])] for o in model["overdue"]]
    exceptions = [[_e(x["host"]), _e(x["package"]), _e(x["version"]), _e(x["state"]), _e(x["reason"]),
                   _e(x["expires"]), '<span class="bad">expired</span>' if x["expired"] else "live"]
                  for x in model["exceptions"]]
    outdated = [[_e(a["host"]), _e(a["os"]), _e(a["eol_date"])] for a in model["outdated"]]
    machines = [[_e(m["machine_id"] or "(none)"), _e(m["host"]), _e(", ".join(m["previous_names"])),
                 _e(_machine_id_of(m["replaces"])), _e(_machine_id_of(m["replaced_by"])), _e(m["first_seen"]),
                 _e(m["last_seen"]), "clone suspected: one machine id under two names" if m["clone_suspected"] else ""]
                for m in model.get("machines") or ()
                if m["previous_names"] or m["replaces"] or m["replaced_by"] or m["clone_suspected"]]
    inventory = [[_e(a[k]) for k in ("host", "hostname", "location", "ip", "mac", "os", "revision", "group",
                                     "machine_id", "eol_status")] for a in model["inventory"]]
    stages = model["funnel"]["stages"]
    funnel_runs = [[_e(f["run_id"])] + [_e(f["counts"][s]) for s in stages] for f in model["funnel"]["runs"]]
    funnel_updates = [[_e(f["package"]), _e(f["version"])] + [_e(f["counts"][s]) for s in stages]
                      for f in model["funnel"]["updates"]]
    checklist = [[_e(c["step"]), _e(c["feature"]),
                  f'<span class="done">done</span> {_e(c["evidence"])}' if c["done"]
                  else '<span class="notdone">not done</span>'] for c in model["checklist"]]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_e(csp)}">',
        f"<title>patchpilot report {_e(model.get('run_id') or '')}</title><style>{_CSS}</style></head><body>",
        f"<h1>Patch compliance report</h1><p>Generated {_e(model.get('generated'))}, as of {_e(model['today'])},"
        f" run {_e(model.get('run_id') or 'none')}.</p>",
        _chain_html(model.get("chain")),
        '<div class="cards">'
        f'<div class="card" id="fleet-compliance" data-value="{_e(fleet["share"])}"><b>{_pct(fleet["share"])}</b>'
        f'fleet compliance ({fleet["compliant"]} of {fleet["approved"]})</div>'
        f'<div class="card"><b>{model["pending"]["total"]}</b>pending updates</div>'
        f'<div class="card"><b>{len(model["overdue"])}</b>overdue</div>'
        f'<div class="card"><b>{len(model["sla_breaches"])}</b>SLA breaches</div>'
        f'<div class="card"><b>{len(model["outdated"])}</b>outdated machines</div></div>',
        '<h2>Charts</h2><div class="charts">'
        '<figure><figcaption>Compliance per group</figcaption><div id="chart-groups"></div></figure>'
        '<figure><figcaption>Pending updates by severity</figcaption><div id="chart-severity"></div></figure>'
        '<figure><figcaption>Compliance over runs</figcaption><div id="chart-trend"></div></figure></div>',
        "<h2>Compliance per group</h2>" + _table(["group", "compliant", "approved", "share"], groups),
        "<h2>Runs</h2>" + _table(["run", "state", "by", "approved by", "ticket", "policy", "commit", "started",
                                  "finished", "hosts"], runs, "no runs recorded"),
        "<h2>SLA breaches</h2>" + _table(["host", "package", "version", "severity", "due", "state", "why"], breaches),
        "<h2>Overdue</h2>" + _table(["host", "package", "version", "severity", "due", "days over"], overdue),
        "<h2>Exceptions</h2>" + _table(["host", "package", "version", "state", "reason", "expires", ""], exceptions),
        "<h2>Outdated (end-of-life) machines</h2>" + _table(["host", "OS", "end of life"], outdated),
        "<h2>Lifecycle funnel per run</h2>" + _table(["run"] + list(stages), funnel_runs),
        "<h2>Lifecycle funnel per update</h2>" + _table(["package", "version"] + list(stages), funnel_updates),
        "<h2>Audit checklist</h2>" + _table(["step", "feature", "evidence of this run"], checklist),
        "<h2>Asset inventory</h2>" + _table(["host", "hostname", "location", "IP", "MAC", "OS", "revision", "group",
                                             "machine-id", "end of life"], inventory),
        "<h2>Renamed and reinstalled machines</h2>" + _table(
            ["machine-id", "name now", "earlier names", "replaces", "replaced by", "first seen", "last seen", "note"],
            machines, "no machine was renamed or reinstalled"),
        "<h2>Hosts</h2>" + "".join(_host_html(h) for h in model["hosts"]),
        f'<script type="application/json" id="report-data">{embedded_json(chart_data(model))}</script>',
        f"<script>{_SCRIPT}</script>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------------------
# Files


def render(model: dict, formats) -> dict:
    """File name -> text for each chosen format."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise RenderError(f"formats: {', '.join(map(str, unknown))} not one of {', '.join(FORMATS)}")
    files = {}
    for name in formats:
        if name == "html":
            files["report.html"] = to_html(model)
        elif name == "json":
            files["report.json"] = to_json(model)
        elif name == "csv":
            files.update(to_csv(model))
        elif name == "junit":
            files["junit.xml"] = to_junit(model)
        else:
            files["patchpilot.prom"] = to_openmetrics(model)
    return files


def write(folder: str, files: dict) -> dict:
    """Write the files into ``folder`` (made 0700), each 0600 by an atomic move; their paths."""
    try:
        os.makedirs(folder, mode=DIR_MODE, exist_ok=True)
        os.chmod(folder, DIR_MODE)
        paths = {}
        for name, text in files.items():
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                os.chmod(tmp, FILE_MODE)
                os.replace(tmp, os.path.join(folder, name))
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
            paths[name] = os.path.join(folder, name)
    except OSError as exc:
        raise RenderError(f"report folder {folder}: {exc.strerror or exc}") from exc
    return paths
