"""A history store's records as the feed writes them (history_records.py is the contract), for
the report's tests: a scan and two runs over four hosts, with a canary, a rollback, an
unreachable host, an update installed but not active, exceptions (one expired) and an
end-of-life machine. Strings from hosts and the CMDB carry markup that must render as text.

What the report must make of it (as of :data:`TODAY`) is spelled out in :data:`EXPECTED`,
worked out by hand from the records below, not by the code under test.
"""

from __future__ import annotations

from datetime import date

TODAY = date(2026, 12, 5)
SCRIPT = "<script>alert('cmdb')</script>"
REASON = "vendor certification pending <script>alert(1)</script>"
MACHINE = {"web1": "a" * 32, "web2": "b" * 32, "db1": "c" * 32, "app1": "d" * 32}
GROUP = {"web1": "web", "web2": "web", "db1": "db", "app1": "app"}


def _t(day: int, hour: int = 10, month: int = 11) -> str:
    return f"2026-{month:02d}-{day:02d}T{hour:02d}:00:00+00:00"


def _asset(host, at, os_name="Debian 12", eol="supported", location="DC1 rack 4"):
    return {"kind": "asset", "at": at, "host": host, "machine_id": MACHINE[host],
            "data": {"hostname": f"{host}.example.org", "location": location, "ip": f"192.0.2.{len(host) + 10}",
                     "mac": "52:54:00:12:34:56", "os": os_name, "revision": "6.1.0-28 / 12.8",
                     "group": GROUP[host], "criticality": "high", "data_sensitivity": "internal",
                     "internet_exposed": host.startswith("web"), "eol": {"status": eol, "date": "2024-06-30"
                                                                         if eol == "outdated" else "2028-06-30"},
                     "reachable": True}}


def _update(run, host, package, version, state, at, severity, due, **extra):
    return {"kind": "update", "at": at, "run_id": run, "host": host, "machine_id": MACHINE[host],
            "package": package, "version": version, "state": state,
            "data": {"from_version": "1.0", "severity": severity, "cves": ["CVE-2026-0001"], "due": due,
                     "error": extra.get("error"), "approved_by": "carol" if state != "missing" else None}}


def _states(run, host, package, version, states, day, severity, due, month=11):
    return [_update(run, host, package, version, state, _t(day, 10 + i, month), severity, due)
            for i, state in enumerate(states)]


def _run(run, state, started, finished, hosts, ticket="CHG-1001"):
    return {"kind": "run", "at": finished or started, "run_id": run, "state": state,
            "data": {"started": started, "finished": finished, "user": "alice", "approved_by": "carol",
                     "change_ticket": ticket, "policy_digest": "sha256:" + "1f" * 32, "scope": "limit:all",
                     "inventory": "/srv/inventory.yml", "project_commit": "0123abcd", "awx_job_id": None,
                     "awx_user": None, "controller": "ctl1", "playbook": "patch.yml", "hosts": hosts,
                     "halted": None, "emergency": False}}


def _host(run, host, state, at, wave, phases, canary=False, snapshot=True, error=None, unreachable=False):
    return {"kind": "host", "at": at, "run_id": run, "host": host, "machine_id": MACHINE[host], "state": state,
            "data": {"wave": wave, "canary": canary, "phases": [{"phase": p, "at": at} for p in phases],
                     "snapshot": {"provider": "lvm", "id": f"pp-{host}"} if snapshot else None, "reboots": [],
                     "error": error, "unreachable": unreachable, "versions": {}}}


FULL = ["preflight", "staged", "snapshotted", "patched", "verified", "done"]


def records() -> list:
    """The records in the order the feed appends them."""
    scan = [
        _asset("web1", _t(20, 9)), _asset("web2", _t(20, 9)), _asset("app1", _t(20, 9)),
        _asset("db1", _t(20, 9), os_name="Debian 10", eol="outdated", location=SCRIPT),
        _update(None, "web1", "openssl", "3.0.15-1", "missing", _t(20), "high", "2026-11-27"),
        _update(None, "web1", "curl", "7.88.1-10", "missing", _t(20), "medium", "2026-12-20"),
        _update(None, "web1", "nginx", "1.22.1-9", "missing", _t(20), "low", "2027-02-18"),
        _update(None, "web2", "openssl", "3.0.15-1", "missing", _t(20), "high", "2026-11-27"),
        _update(None, "db1", "openssl", "3.0.15-1", "missing", _t(20), "high", "2026-11-27"),
        _update(None, "db1", "libc6", "2.36-9", "missing", _t(20), "critical", "2026-11-22"),
        _update(None, "db1", "postgresql-15", "15.9-0", "missing", _t(20), "medium", "2026-11-25"),
        _update(None, "app1", "openssl", "3.0.15-1", "missing", _t(20), "high", "2026-11-27"),
        {"kind": "exception", "at": _t(20, 11), "host": "web1", "package": "nginx", "version": "1.22.1-9",
         "state": "rejected", "data": {"reason": "breaks the proxy module", "expires": "2027-01-31", "expired": False}},
        {"kind": "exception", "at": _t(20, 11), "host": "db1", "package": "postgresql-15", "version": "15.9-0",
         "state": "held", "data": {"reason": REASON, "expires": "2026-12-01", "expired": False}},
    ]
    run1 = [_run("run-1", "running", _t(21, 8), None, ["web1", "web2", "db1", "app1"])]
    run1 += _states("run-1", "web1", "openssl", "3.0.15-1",
                    ["approved", "downloaded", "tested", "installed", "active", "verified"], 21, "high", "2026-11-27")
    run1 += _states("run-1", "web1", "curl", "7.88.1-10", ["approved", "downloaded", "installed"], 21, "medium",
                    "2026-12-20")
    run1 += [_host("run-1", "web1", "done", _t(21, 16), 0, FULL, canary=True)]
    run1 += _states("run-1", "web2", "openssl", "3.0.15-1", ["approved", "downloaded", "installed", "rolled_back"],
                    21, "high", "2026-11-27")
    run1 += [_host("run-1", "web2", "rolled_back", _t(21, 17), 1,
                   ["preflight", "staged", "snapshotted", "patched", "rolled_back"], error="nginx did not come back")]
    run1 += _states("run-1", "db1", "libc6", "2.36-9", ["approved", "downloaded", "installed", "active"], 21,
                    "critical", "2026-11-22")
    run1 += _states("run-1", "db1", "openssl", "3.0.15-1",
                    ["approved", "downloaded", "installed", "active", "verified"], 21, "high", "2026-11-27")
    run1 += [_host("run-1", "db1", "done", _t(21, 18), 1, FULL)]
    run1 += [_update("run-1", "app1", "openssl", "3.0.15-1", "approved", _t(21, 9), "high", "2026-11-27")]
    run1 += [_host("run-1", "app1", "unreachable", _t(21, 18), 1, [], snapshot=False, unreachable=True,
                   error="ssh: connect to host app1 port 22: No route to host")]
    run1 += [_run("run-1", "failed", _t(21, 8), _t(21, 19), ["web1", "web2", "db1", "app1"])]
    run2 = [_run("run-2", "running", _t(30, 8), None, ["web1", "web2", "app1"], ticket="CHG-1002")]
    run2 += _states("run-2", "web1", "curl", "7.88.1-10", ["active", "verified"], 30, "medium", "2026-12-20")
    run2 += [_host("run-2", "web1", "done", _t(30, 12), 0, FULL, canary=True)]
    run2 += _states("run-2", "web2", "openssl", "3.0.15-1",
                    ["approved", "downloaded", "installed", "active", "verified"], 30, "high", "2026-11-27")
    run2 += [_host("run-2", "web2", "done", _t(30, 16), 1, FULL)]
    run2 += [_host("run-2", "app1", "unreachable", _t(30, 16), 1, [], snapshot=False, unreachable=True,
                   error="ssh: connect to host app1 port 22: No route to host")]
    run2 += [_run("run-2", "completed", _t(30, 8), _t(30, 17), ["web1", "web2", "app1"], ticket="CHG-1002")]
    return scan + run1 + run2


#: Worked out by hand from :func:`records` as of :data:`TODAY`.
EXPECTED = {
    "fleet": {"approved": 6, "compliant": 4, "share": 0.6667},
    "groups": {"app": {"approved": 1, "compliant": 0, "share": 0.0},
               "db": {"approved": 2, "compliant": 2, "share": 1.0},
               "web": {"approved": 3, "compliant": 2, "share": 0.6667}},
    "verdicts": {("web1", "openssl"): "compliant", ("web1", "curl"): "compliant", ("web1", "nginx"): "missing",
                 ("web2", "openssl"): "late", ("db1", "libc6"): "compliant", ("db1", "openssl"): "compliant",
                 ("db1", "postgresql-15"): "missing", ("app1", "openssl"): "pending"},
    "overdue": [("app1", "openssl"), ("db1", "postgresql-15")],
    "breaches": [("app1", "openssl"), ("db1", "postgresql-15"), ("web2", "openssl")],
    "pending": {"critical": 0, "high": 1, "medium": 1, "low": 0, "unknown": 0},
    "failing": {"web1": False, "web2": True, "db1": False, "app1": True},
    "trend": {"run-1": 0.5, "run-2": 0.6667},
    "funnel_run1": {"missing": 6, "approved": 6, "downloaded": 5, "tested": 1, "installed": 5, "verified": 2},
    "outdated": ["db1"],
    "expired": {("db1", "postgresql-15"): True, ("web1", "nginx"): False},
}
