"""The evidence of a real rollout: the history store against the run and the hosts.

ONE module-scoped rollout (:func:`evidence_run`) that the tests of the reports, the
PostgreSQL store and the secrets read too (extend the yielded dict, do not start another
run): web01 (Debian 11), db01 (12), app01 (13) and rpm01 (RPM) in one wave, no canary,
budget 3, reboot never. app01 is offered a broken update (its service crashes: the
verification fails and app01 is rolled back); db01's container is stopped before the run
(the scan cannot reach it: unreachable); web01 and rpm01 are patched. The notifications use
real secrets (an SMTP login and a webhook's bearer token) that the servers confirm they got;
the history callback is enabled, as an operator would. The store is PostgreSQL, by a URL
with a password (the third secret), as AWX users have it. After the run, playbooks/report.yml
writes the reports from that store, and Chromium reads the HTML report's charts.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from labkit import ROOT, VENV_BIN, ansible_env
from support.browser import Charts, chromium
from support.servers import LOOPBACK, HTTPServer, SMTPServer
from test_rollout import Rollout, dpkg, explain, offer_fault, plan_of, policy
from test_rollout_rpm import rpmdb

if str(ROOT / ".ansible" / "collections") not in sys.path:
    sys.path.insert(0, str(ROOT / ".ansible" / "collections"))
from ansible_collections.patchpilot.fleet.plugins.module_utils.history_store import StoreError, open_store  # noqa: E402

pytestmark = [pytest.mark.lab, pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")]

HOSTS = ("web01", "db01", "app01", "rpm01")
FAULT = "pplab-fault-crash"
SMTP_USER = "patchpilot-mailer"
SECRETS = {"smtp_password": "smtp-evidence-pw-5d1e77", "webhook_token": "hook-evidence-token-a93c02"}


class AuthSMTPServer(SMTPServer):
    """The suite's SMTP server, which here insists on a login (PLAIN or LOGIN, no TLS on loopback)
    and keeps the credentials it was given."""

    def __init__(self):
        from aiosmtpd.controller import Controller  # noqa: PLC0415

        super().__init__()
        self.logins = []
        self._controller = Controller(self, hostname=LOOPBACK, port=self.port, authenticator=self._authenticate,
                                      auth_require_tls=False, auth_required=True)

    def _authenticate(self, _server, _session, _envelope, _mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult  # noqa: PLC0415

        login = (auth_data.login or b"").decode(), (auth_data.password or b"").decode()
        self.logins.append(login)
        return AuthResult(success=login == (SMTP_USER, SECRETS["smtp_password"]))


def _files_holding(folder: Path, secret: str, skip: tuple = ()) -> list:
    needle = secret.encode()
    return [str(p) for p in folder.rglob("*") if p.is_file() and p not in skip and needle in p.read_bytes()]


@pytest.fixture(scope="module")
def evidence_run(lab, tmp_path_factory, postgres_server):
    lab.reset(*HOSTS)
    folder = tmp_path_factory.mktemp("evidence")
    state, reports = folder / "state", folder / "reports"
    rollout = Rollout(lab, folder)
    offer_fault(lab, "app01", FAULT)
    before = {"app01": dpkg(lab, "app01")}
    http, smtp = HTTPServer().start(), AuthSMTPServer().start()
    db01 = lab.host("db01")["container"]
    rules = policy(rollout={"canary": None, "waves": ["rest"], "anti_affinity": []}, budget={"max_failed": 3},
                   reboot="never", notifications=[
                       {"type": "webhook", "target": http.url + "/events", "token_var": "evidence_webhook_token",
                        "events": ["start", "done"]},
                       {"type": "email", "target": "ops@example.org", "smtp_host": LOOPBACK, "smtp_port": smtp.port,
                        "username": SMTP_USER, "password_var": "evidence_smtp_password", "secure": "never",
                        "events": ["done"]}])
    rules["rollout"].pop("canary")
    # the secrets come as AWX or Vault would give them: variables, from a file outside the run's folders
    secret_vars = folder / "secret-vars.json"
    store_url = postgres_server.new_database("evidence")
    secret_vars.write_text(json.dumps({"evidence_webhook_token": SECRETS["webhook_token"],
                                       "evidence_smtp_password": SECRETS["smtp_password"],
                                       "patchpilot_history_store": store_url}), encoding="utf-8")
    secret_vars.chmod(0o600)
    argv = rollout.argv(rules, "-e", f"@{secret_vars}", "-e", f"patchpilot_state_dir={state}",
                        "-e", f"patchpilot_report_dir={reports}", limit=",".join(HOSTS))
    subprocess.run(["podman", "stop", "-t", "0", db01], check=True, capture_output=True)
    try:
        proc = subprocess.run(argv, cwd=folder, capture_output=True, text=True, timeout=1800, check=False,
                              env=ansible_env({"ANSIBLE_CALLBACKS_ENABLED": "patchpilot.fleet.history"}))
    finally:
        subprocess.run(["podman", "start", db01], check=True, capture_output=True)
    mails = smtp.wait_for(1)
    try:
        yield {"proc": proc, "rollout": rollout, "run_dir": rollout.last(), "folder": folder, "state": state,
               "reports": reports, "store": store_url, "before": before,
               "secrets": {**SECRETS, "store_password": postgres_server.password}, "secret_vars": secret_vars,
               "secret_files": (secret_vars, folder / "policy.yml"), "http": http, "smtp": smtp, "mails": mails}
    finally:
        http.stop()
        smtp.stop()
        lab.reset(*HOSTS)


@pytest.fixture(scope="module")
def store_records(evidence_run):
    store = open_store(evidence_run["store"], str(evidence_run["state"]))
    try:
        yield store, store.records("run_id = ?", (evidence_run["run_dir"].name,))
    finally:
        store.close()


def _host_states(records) -> dict:
    found = {}
    for record in records:
        if record["kind"] == "host":
            found[record["host"]] = record
    return found


def test_the_run_went_as_staged(evidence_run):
    proc, run_dir = evidence_run["proc"], evidence_run["run_dir"]
    assert proc.returncode != 0, explain(proc)  # app01 rolled back: the run fails
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["phases"] == {"web01": "done", "app01": "rolled_back", "rpm01": "done"}, summary
    assert plan_of(run_dir)["db01"]["status"] == "unscannable"
    assert FAULT in {p["name"] for p in plan_of(run_dir)["app01"]["packages"]}
    assert "HISTORY STORE UNAVAILABLE" not in proc.stdout + proc.stderr
    assert "patchpilot.fleet.history:" not in proc.stdout + proc.stderr  # the callback had nothing to complain of


def test_the_hosts_assets_and_the_scan_are_recorded(evidence_run, store_records):
    store, records = store_records
    assets = {r["host"]: r["data"] for r in records if r["kind"] == "asset"}
    assert {"web01", "app01", "rpm01"} <= set(assets), assets
    for name in ("web01", "app01", "rpm01"):
        assert assets[name]["os"].startswith("Debian") and assets[name]["ip"] and assets[name]["reachable"], assets[name]
    # the scan the run began with: web01's missing updates, with no run
    missing = store.records("run_id IS NULL AND kind = 'update' AND host = 'web01'")
    assert missing and {r["state"] for r in missing} == {"missing"}
    planned = {p["name"] for p in plan_of(evidence_run["run_dir"])["web01"]["packages"]}
    assert planned <= {r["package"] for r in missing}


def test_the_store_chain_verifies(store_records):
    store, records = store_records
    check = store.verify()
    assert check["ok"] and check["checked"] >= len(records) > 0, check


def test_each_hosts_state_in_the_store_is_the_runs(evidence_run, store_records):
    _store, records = store_records
    summary = json.loads((evidence_run["run_dir"] / "summary.json").read_text())
    states = {host: record["state"] for host, record in _host_states(records).items()}
    assert states == {**summary["phases"], "db01": "unreachable"}, states
    [run] = [r for r in records if r["kind"] == "run" and r["state"] == summary["state"]]
    assert run["data"]["change_ticket"] == "CHG-TEST-42" and run["data"]["user"], run
    assert run["data"]["hosts"] == sorted(HOSTS) and run["data"]["controller"], run


def test_the_stores_installed_versions_are_the_hosts_real_ones(lab, store_records):
    _store, records = store_records
    hosts = _host_states(records)
    for name in ("web01", "app01"):
        real = dpkg(lab, name)
        versions = hosts[name]["data"]["versions"]
        assert versions and {p: real.get(p) for p in versions} == versions, name
    real = rpmdb(lab)
    versions = hosts["rpm01"]["data"]["versions"]
    assert versions and {p: real.get(p) for p in versions} == versions
    installed = {(r["host"], r["package"]): r["version"] for r in records
                 if r["kind"] == "update" and r["state"] == "verified"}
    for (host, package), version in installed.items():  # a verified update is what the host has now
        assert hosts[host]["data"]["versions"][package] == version, (host, package)
    assert {h for h, _p in installed} == {"web01", "rpm01"}, installed


def test_web01s_updates_went_from_missing_to_verified_in_time_order(evidence_run, store_records):
    _store, records = store_records
    planned = {p["name"]: p["version"] for p in plan_of(evidence_run["run_dir"])["web01"]["packages"]}
    assert planned
    for package, version in planned.items():
        steps = [r for r in records if r["kind"] == "update" and r["host"] == "web01" and r["package"] == package]
        assert [r["state"] for r in steps] == ["missing", "approved", "downloaded", "installed", "active",
                                               "verified"], (package, steps)
        assert {r["version"] for r in steps} == {version}
        times = [r["at"] for r in steps]
        assert times == sorted(times), (package, times)


def test_app01s_updates_failed_and_were_rolled_back(evidence_run, lab, store_records):
    _store, records = store_records
    steps = {}
    for r in records:
        if r["kind"] == "update" and r["host"] == "app01":
            steps.setdefault(r["package"], []).append(r["state"])
    assert FAULT in steps
    for package, states in steps.items():
        assert states[-2:] == ["failed", "rolled_back"] and "verified" not in states, (package, states)
    [failed] = [r for r in records if r["kind"] == "update" and r["package"] == FAULT and r["state"] == "failed"]
    assert failed["data"]["error"].startswith("verify failed on app01"), failed
    assert dpkg(lab, "app01") == evidence_run["before"]["app01"]


def test_db01_is_unreachable_with_nothing_installed(store_records):
    _store, records = store_records
    db01 = _host_states(records)["db01"]
    assert db01["state"] == "unreachable" and db01["data"]["unreachable"] is True, db01
    assert db01["data"]["versions"] == {}
    assert not [r for r in records if r["kind"] == "update" and r["host"] == "db01"
                and r["state"] in ("installed", "active", "verified")]


def test_the_rejected_update_is_an_exception(store_records):
    _store, records = store_records
    exceptions = [r for r in records if r["kind"] == "exception"]
    rejected = [r for r in exceptions if r["state"] == "rejected"]
    # the policy's rejection, with its expiry, on the Debian hosts the scan reached
    assert rejected and {r["package"] for r in rejected} == {"pplab-legacy"}, rejected
    assert {r["host"] for r in rejected} <= {"web01", "app01"}
    assert all(r["data"]["expires"] == "2099-12-31" and r["data"]["expired"] is False for r in rejected), rejected
    # the rest is held: rpm01's updates the policy does not approve on its own (no advisory, enhancement)
    held = [r for r in exceptions if r["state"] != "rejected"]
    assert all(r["state"] == "held" and r["host"] == "rpm01" and r["data"]["reason"] for r in held), held


def test_feeding_the_run_again_adds_nothing(evidence_run):
    def count():
        store = open_store(evidence_run["store"], str(evidence_run["state"]))
        try:
            return len(store.records())
        finally:
            store.close()

    before = count()
    proc = subprocess.run([str(VENV_BIN / "ansible"), "localhost", "-m", "patchpilot.fleet.history_ingest", "-a",
                           f"state_dir={evidence_run['state']} run_dir={evidence_run['run_dir']}",
                           "-e", f"@{evidence_run['secret_vars']}"],
                          cwd=ROOT, env=ansible_env(), capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, explain(proc)
    assert "SUCCESS" in proc.stdout and "appended: 0" in proc.stdout and "changed: false" in proc.stdout, proc.stdout
    assert count() == before


def test_the_secrets_were_used_and_are_nowhere_else(evidence_run):
    secrets = evidence_run["secrets"]
    # the servers got them
    events = evidence_run["http"].received("/events")
    assert events and {r.headers.get("Authorization") for r in events} == {f"Bearer {secrets['webhook_token']}"}
    assert (SMTP_USER, secrets["smtp_password"]) in evidence_run["smtp"].logins
    assert evidence_run["mails"], "no mail arrived"
    # ... and they are in no file of the run (state, store, reports, run directories, plans) nor the output
    output = evidence_run["proc"].stdout + evidence_run["proc"].stderr
    for secret in secrets.values():
        assert secret not in output
        assert _files_holding(evidence_run["folder"], secret, skip=evidence_run["secret_files"]) == []
    # ... nor in the store: every record, as PostgreSQL gives it back
    store = open_store(evidence_run["store"], str(evidence_run["state"]))
    try:
        stored = json.dumps(store.records())
    finally:
        store.close()
    assert not [name for name, secret in secrets.items() if secret in stored]
    # PostgreSQL checked the store's password (scram-sha-256): a wrong one is refused, and nothing fell
    # back to the embedded SQLite file
    wrong = evidence_run["store"].replace(secrets["store_password"], "not-the-password")
    with pytest.raises(StoreError) as refused:
        open_store(wrong, str(evidence_run["state"]))
    assert "password authentication failed" in str(refused.value) and "not-the-password" not in str(refused.value)
    assert not (evidence_run["state"] / "history.sqlite").exists()


@pytest.fixture(scope="module")
def evidence_reports(evidence_run):
    """playbooks/report.yml on the run's store: every format, into the run's report directory."""
    proc = subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "patchpilot.fleet.report", "-e", f"@{evidence_run['secret_vars']}",
                           "-e", f"patchpilot_state_dir={evidence_run['state']}",
                           "-e", f"patchpilot_report_dir={evidence_run['reports']}"],
                          cwd=evidence_run["folder"], env=ansible_env(), capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == 0, explain(proc)
    out = evidence_run["reports"] / "history"
    return {"proc": proc, "out": out, "data": json.loads((out / "report.json").read_text(encoding="utf-8"))}


def _latest(records: list) -> dict:
    found = {}
    for record in records:  # chain order: the last state of each host's update wins
        if record["kind"] == "update":
            found[(record["host"], record["package"])] = record["state"]
    return found


def test_the_reports_agree_with_the_store(evidence_run, evidence_reports, store_records):
    store, records = store_records
    everything = store.records()
    data, out, run_id = evidence_reports["data"], evidence_reports["out"], evidence_run["run_dir"].name
    assert data["run_id"] == run_id and data["chain"]["ok"] and data["chain"]["checked"] == len(everything)
    # JSON: each host's result in this run is the store's
    stored = {host: record["state"] for host, record in _host_states(records).items()}
    [row] = [r for r in data["runs"] if r["run_id"] == run_id]
    assert {state: n for state, n in row["results"].items() if n} == {
        state: sum(1 for s in stored.values() if s == state) for state in set(stored.values())}, row
    # CSV: every host and package's latest lifecycle state is the store's
    with open(out / "updates.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["host"], r["package"]): r["state"] for r in rows} == _latest(everything)
    # JUnit: one case per host; the rolled-back and the unreachable host fail, the patched ones pass
    cases = {c.get("name"): c.find("failure") is not None for c in ET.parse(out / "junit.xml").iter("testcase")}
    assert set(cases) == set(HOSTS), cases
    assert cases["app01"] and cases["db01"] and not cases["web01"] and not cases["rpm01"], cases
    assert cases == {h["host"]: bool(h["failing"]) for h in data["hosts"] if h["host"] in HOSTS}
    # the funnel of the run, counted from the store's update records
    [funnel] = [f for f in data["funnel"]["runs"] if f["run_id"] == run_id]
    for stage in ("approved", "downloaded", "installed", "verified"):
        assert funnel["counts"][stage] == len({(r["host"], r["package"]) for r in records
                                               if r["kind"] == "update" and r["state"] == stage}), stage


def test_the_html_reports_charts_in_chromium_agree_with_the_store(evidence_run, evidence_reports, store_records,
                                                                   tmp_path):
    _store, records = store_records
    page = evidence_reports["out"] / "report.html"
    proc = chromium(tmp_path / "profile", "--dump-dom", page.as_uri())
    assert proc.returncode == 0 and "<svg" in proc.stdout, proc.stderr[-2000:]
    dom = Charts()
    dom.feed(proc.stdout)
    assert dom.body.get("data-charts") == "drawn"
    [last] = [m for m in dom.marks if m["data-chart"] == "trend" and m["data-label"] == evidence_run["run_dir"].name]
    states = [r["state"] for r in _host_states(records).values()]
    assert (int(last["data-rolled-back"]), int(last["data-unreachable"])) == (
        states.count("rolled_back"), states.count("unreachable")) == (1, 1), last
    groups = {m["data-label"]: float(m["data-value"]) for m in dom.marks if m["data-chart"] == "compliance-by-group"}
    expected = evidence_reports["data"]["compliance"]["groups"]
    assert groups == {g: round(c["share"] * 100, 1) for g, c in expected.items() if c["share"] is not None}, groups
    # a picture of the page, kept where PATCHPILOT_ARTIFACTS says (else the test's folder)
    shot = Path(os.environ.get("PATCHPILOT_ARTIFACTS") or tmp_path) / "evidence-report.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    proc = chromium(tmp_path / "profile-shot", f"--screenshot={shot}", "--window-size=1280,2400", "--hide-scrollbars",
                    page.as_uri())
    assert proc.returncode == 0 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", proc.stderr[-2000:]
    print(f"screenshot of the lab run's report: {shot}")
