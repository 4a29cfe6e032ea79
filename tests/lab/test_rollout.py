"""playbooks/patch.yml on the lab: the whole rollout, and the faults it must survive.

(The faults in the middle of a run are in test_rollout_faults.py.)

Every test runs the real playbook against real Debian hosts and then reads
every host back (``dpkg-query -W``, services, ports): the versions must be the
plan's on the hosts that were patched and exactly the old ones everywhere
else. Faults are real: the lab repository's broken updates (component
``faults``), a stopped container, a killed ansible-playbook, a held dpkg lock.

A host is offered one fault package at a time: its apt preferences pin every
other package of the ``faults`` component away (priority -1).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from labkit import ROOT, VENV_BIN, ansible_env
from support.servers import http_server, smtp_server  # noqa: F401 (fixtures)

if str(ROOT / ".ansible" / "collections") not in sys.path:
    sys.path.insert(0, str(ROOT / ".ansible" / "collections"))
from ansible_collections.patchpilot.fleet.plugins.module_utils.history_store import open_store  # noqa: E402

pytestmark = pytest.mark.lab

DEBIAN = ("web01", "db01", "app01")
LIMIT = ",".join(DEBIAN)
KEYRING = "/etc/apt/keyrings/patchpilot-lab.gpg"
REPO = "/srv/patchpilot-repo/archive"


def policy(**changes) -> dict:
    """The test policy: no windows (any time), canary web01, HA pair db01/app01, budget 1."""
    base = {
        "version": 2,
        "change_ticket": "CHG-TEST-42",
        "approvals": {
            "auto": {"classifications": ["security", "bugfix"], "severities": ["critical", "high", "medium", "low"]},
            "reject": [{"package": "pplab-legacy", "reason": "major upgrade needs sign-off", "expires": "2099-12-31"}],
            "allow_removals": True,
        },
        "rollout": {"canary": {"hosts": ["web01"]}, "soak_minutes": 0, "waves": [1, "rest"],
                    "anti_affinity": [["db01", "app01"]], "minutes_per_host": 5},
        "budget": {"max_failed": 1},
        "reboot": "if_required",
        "restart_services": True,
        "snapshot": {"default": "package"},
    }
    for key, value in changes.items():
        if value is None:
            base.pop(key, None)
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return base


class Rollout:
    """One test's run folder: its policy, run directories and plans."""

    def __init__(self, lab, folder: Path):
        self.lab = lab
        self.folder = folder
        self.runs = folder / "runs"
        self.plans = folder / "plans"

    def argv(self, rules: dict, *extra: str, limit: str = LIMIT) -> list[str]:
        path = self.folder / "policy.yml"
        path.write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")
        return [str(VENV_BIN / "ansible-playbook"), "-i", self.lab.inventory, str(ROOT / "playbooks" / "patch.yml"),
                "--limit", limit, "-e", f"patchpilot_policy={path}", "-e", f"patchpilot_run_base={self.runs}",
                "-e", f"patchpilot_plan_dir={self.plans}", *extra]

    def run(self, rules: dict, *extra: str, limit: str = LIMIT, timeout: int = 1800) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv(rules, *extra, limit=limit), cwd=self.folder, env=ansible_env(),
                              capture_output=True, text=True, timeout=timeout, check=False)

    def start(self, rules: dict, *extra: str, limit: str = LIMIT) -> subprocess.Popen:
        log = open(self.folder / f"background-{time.time_ns()}.log", "w", encoding="utf-8")  # noqa: SIM115
        return subprocess.Popen(self.argv(rules, *extra, limit=limit), cwd=self.folder, env=ansible_env(),
                                stdout=log, stderr=subprocess.STDOUT, text=True, start_new_session=True)

    def run_dirs(self) -> list[Path]:
        if not self.runs.is_dir():
            return []
        return sorted(p for p in self.runs.iterdir() if (p / "run.json").is_file())

    def last(self) -> Path:
        found = self.run_dirs()
        assert found, f"no run directory in {self.runs}"
        return max(found, key=lambda p: json.loads((p / "run.json").read_text())["started"])

    @staticmethod
    def read(path: Path) -> dict:
        return json.loads(path.read_text(encoding="utf-8"))

    def host_record(self, run_dir: Path, host: str) -> dict:
        return self.read(run_dir / "hosts" / f"{host}.json")

    def wait_for(self, what, timeout: int = 900, proc: subprocess.Popen | None = None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = what()
            if found:
                return found
            if proc is not None and proc.poll() is not None:
                raise AssertionError(f"the run ended ({proc.returncode}) before the awaited moment")
            time.sleep(1)
        raise AssertionError("timed out waiting")


def explain(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n{proc.stdout[-8000:]}\n{proc.stderr[-3000:]}"


def dpkg(lab, name: str) -> dict:
    """{package: version} of the packages dpkg has installed (ii/hi) on the host."""
    out = lab.ssh(lab.host(name), "dpkg-query -W -f '${Package}\\t${Version}\\t${db:Status-Abbrev}\\n'").stdout
    return {p: v for p, v, s in (line.split("\t") for line in out.splitlines()) if s.strip() in ("ii", "hi")}


def dpkg_log_lines(lab, name: str) -> int:
    return int(lab.ssh(lab.host(name), "cat /var/log/dpkg.log* 2>/dev/null | wc -l").stdout.strip() or 0)


def pid1_start(lab, name: str) -> str:
    return lab.ssh(lab.host(name), "cut -d' ' -f22 /proc/1/stat").stdout.strip()


def give_faults_component(lab, name: str, package: str) -> list[str]:
    """The host's apt sources gain the faults component, pinned so that only ``package`` of it can
    be installed; the fault updates the host is offered now."""
    sources = (f"deb [signed-by={KEYRING}] file:{REPO} lab main faults\n"
               f"deb [signed-by={KEYRING}] file:{REPO} lab-security main\n")
    # apt takes the first record that matches a package: the offered one comes first
    prefs = (f"Package: {package}\nPin: release c=faults\nPin-Priority: 500\n\n"
             "Package: pplab-fault-*\nPin: release c=faults\nPin-Priority: -1\n")
    lab.ssh(lab.host(name), f"printf %s '{sources}' | sudo tee /etc/apt/sources.list.d/patchpilot-lab.list >/dev/null"
                            f" && printf %s '{prefs}' | sudo tee /etc/apt/preferences.d/patchpilot-faults >/dev/null"
                            " && sudo apt-get update -qq")
    simulated = lab.ssh(lab.host(name), "apt-get -s dist-upgrade").stdout
    return sorted({line.split()[1] for line in simulated.splitlines() if line.startswith("Inst pplab-fault-")})


def offer_fault(lab, name: str, package: str) -> None:
    """Give the host the faults component, pinned so that only ``package`` of it can be installed."""
    offered = give_faults_component(lab, name, package)
    assert offered == [package], f"{name}: fault updates offered: {offered}"


def plan_of(run_dir: Path) -> dict:
    return {entry["host"]: entry for entry in Rollout.read(run_dir / "plan.json")["hosts"]}


def assert_as_planned(lab, entry: dict) -> None:
    found = dpkg(lab, entry["host"])
    for package in entry["packages"]:
        assert found.get(package["name"]) == package["version"], (entry["host"], package["name"], found.get(package["name"]))
    for removal in entry["removals"]:
        assert removal["name"] not in found, (entry["host"], removal["name"])


def lab_units(lab) -> list[str]:
    """The units the lab's seed packages run (its manifest's services_before that settle active)."""
    manifest = json.loads((Path(lab.state["repo_dir"]) / "manifest.json").read_text(encoding="utf-8"))
    return sorted(s["unit"] for p in manifest["packages"] for s in p["services_before"] if s["state"] == "active")


def service_states(lab, name: str) -> dict:
    """{unit: systemctl is-active} of the lab's units on the host."""
    units = lab_units(lab)
    out = lab.ssh(lab.host(name), "systemctl is-active " + " ".join(units), check=False).stdout.split()
    return dict(zip(units, out))


def assert_services_run(lab, *names: str) -> None:
    """Every lab unit is active on each host: a patched host, an untouched one and a rolled-back one alike."""
    units = lab_units(lab)
    assert len(units) >= 4, units
    for name in names:
        assert service_states(lab, name) == dict.fromkeys(units, "active"), name


@pytest.fixture
def rollout(lab, tmp_path):
    lab.reset(*DEBIAN)
    yield Rollout(lab, tmp_path)
    lab.reset(*DEBIAN)


def test_check_shows_the_plan_and_the_real_run_installs_exactly_it(lab, rollout, http_server):
    # app01 already has the kernel update: it is the one host that needs no reboot
    lab.ssh(lab.host("app01"), "sudo apt-get install -y -qq pplab-kernel=1.1-1 >/dev/null && sudo rm -f /run/reboot-required*")
    # a held package is never installed
    lab.ssh(lab.host("db01"), "sudo apt-mark hold pplab-web >/dev/null")
    before = {name: dpkg(lab, name) for name in DEBIAN}
    booted = {name: pid1_start(lab, name) for name in DEBIAN}
    # a webhook told the start, each wave, each reboot and the end (check mode tells nothing)
    rules = policy(notifications=[{"type": "webhook", "target": http_server.url + "/events",
                                   "events": ["start", "wave", "reboot", "done"]}])

    check = rollout.run(rules, "--check")
    assert check.returncode == 0, explain(check)
    assert "wave 0 (canary): web01" in check.stdout
    plan_path = Path(next(line.split(": ", 1)[1] for line in check.stdout.splitlines()
                          if line.strip().startswith("plan ") and ".json" in line).strip())
    assert plan_path.is_file()
    assert rollout.run_dirs() == [], "--check must not start a run"
    assert {name: dpkg(lab, name) for name in DEBIAN} == before, "--check changed a host"
    assert http_server.requests == [], "--check sent notifications"

    real = rollout.run(rules, "-e", f"patchpilot_plan_file={plan_path}")
    assert real.returncode == 0, explain(real)
    run_dir = rollout.last()
    summary = rollout.read(run_dir / "summary.json")
    assert summary["state"] == "completed"
    assert summary["phases"] == {"web01": "done", "app01": "done", "db01": "done"}
    assert "run " in real.stdout and "completed" in real.stdout

    checked = {entry["host"]: entry for entry in rollout.read(plan_path)["hosts"]}
    for name in DEBIAN:
        assert_as_planned(lab, checked[name])
        assert summary["final"][name]["as_planned"], summary["final"][name]
        # nothing outside the plan changed: every other package keeps its version
        planned = {p["name"] for p in checked[name]["packages"]} | {r["name"] for r in checked[name]["removals"]}
        after = dpkg(lab, name)
        assert {p: v for p, v in after.items() if p not in planned} == \
               {p: v for p, v in before[name].items() if p not in planned}, name
        # rejected: the major upgrade of pplab-legacy never happens
        assert after["pplab-legacy"] == before[name]["pplab-legacy"]
    assert dpkg(lab, "db01")["pplab-web"] == before["db01"]["pplab-web"], "a held package was installed"
    assert "pplab-web" not in {p["name"] for p in checked["db01"]["packages"]}

    # only the hosts that needed a reboot rebooted, and they are back and running
    assert checked["app01"]["reboot_expected"] is False
    assert pid1_start(lab, "app01") == booted["app01"]
    for name in ("web01", "db01"):
        assert checked[name]["reboot_expected"] is True
        assert pid1_start(lab, name) != booted[name], f"{name} did not reboot"
        assert lab.ssh(lab.host(name), "systemctl is-active pplab-web").stdout.strip() == "active"
    assert_services_run(lab, *DEBIAN)
    # the history store (the state directory's) dates each reboot between the patch and the verification
    store = open_store(None, os.environ["PATCHPILOT_STATE_DIR"])
    try:
        stored = {r["host"]: r["data"] for r in store.records("kind = 'host' AND run_id = ?", (run_dir.name,))}
    finally:
        store.close()
    assert stored["app01"]["reboots"] == []
    for name in ("web01", "db01"):
        phases = {h["phase"]: datetime.fromisoformat(h["at"]) for h in rollout.host_record(run_dir, name)["history"]}
        [back] = stored[name]["reboots"]
        assert phases["patched"] < datetime.fromisoformat(back) <= phases["verified"], (name, back, phases)

    # anti-affinity: db01 and app01 were never down together
    waves = {name: checked[name]["wave"] for name in DEBIAN}
    assert waves["db01"] != waves["app01"]

    def window(name):
        history = rollout.host_record(run_dir, name)["history"]
        return (next(h["at"] for h in history if h["phase"] == "snapshotted"),
                next(h["at"] for h in history if h["phase"] == "done"))
    first, second = sorted((window("db01"), window("app01")))
    assert first[1] <= second[0], (first, second)

    # the events, in order: the start, then per wave its start and the reboot of each of its
    # hosts that needed one, then the end
    run_id = rollout.read(run_dir / "run.json")["run_id"]
    told = [(e["event"], e["subject"], e["run_id"]) for e in (r.json() for r in http_server.received("/events"))]
    expected = [("start", f"patchpilot run {run_id} starts", run_id)]
    for wave in sorted({entry["wave"] for entry in checked.values()}):
        hosts = sorted(name for name, entry in checked.items() if entry["wave"] == wave)
        assert len(hosts) == 1, checked  # one host per wave: canary, then the anti-affinity pair apart
        expected.append(("wave", f"patchpilot run {run_id}: wave {wave}{' (canary)' if wave == 0 else ''} starts", run_id))
        expected += [("reboot", f"patchpilot: {name} reboots now", run_id) for name in hosts if checked[name]["reboot_expected"]]
    expected.append(("done", f"patchpilot run {run_id}: completed", run_id))
    assert told == expected
    assert [e for e, *_ in told].count("reboot") == 2

    # the lock is released; a second run finds nothing to do
    assert not list((rollout.runs / "locks").glob("*.lock"))
    patched = {name: dpkg(lab, name) for name in DEBIAN}
    again = rollout.run(rules)
    assert again.returncode == 0, explain(again)
    assert {name: dpkg(lab, name) for name in DEBIAN} == patched, "the second run changed a host"
    assert rollout.read(rollout.last() / "summary.json")["phases"] == {}


def test_a_failing_canary_stops_the_run_and_is_rolled_back(lab, rollout, http_server, smtp_server):
    # The canary's update breaks only its HTTP answer (500; the unit stays active on its port,
    # the journal quiet): the policy's HTTP check alone must roll it back. (A failing postinst
    # is the spent-budget run's fault in test_rollout_faults.py.)
    offer_fault(lab, "web01", "pplab-fault-http")
    before = {name: dpkg(lab, name) for name in DEBIAN}
    # a pre-host hook whose undo must run once, when the canary is rolled back; a webhook for
    # every event and a mail for the start, the failure and the end, on servers on loopback
    rules = policy(health_checks={"http": [{"url": "http://127.0.0.1:8084/", "status": 200, "name": "fault-http"}]},
                   hooks={"pre_host": [
        {"name": "drain", "url": http_server.url + "/drain/{host}",
         "undo": {"name": "enable", "url": http_server.url + "/enable/{host}", "method": "PUT"}}]},
        notifications=[{"type": "webhook", "target": http_server.url + "/events"},
                       {"type": "email", "target": "ops@example.org", "smtp_host": "127.0.0.1",
                        "smtp_port": smtp_server.port, "secure": "never", "events": ["start", "failure", "done"]}])
    proc = rollout.run(rules)
    assert proc.returncode != 0, explain(proc)
    run_dir = rollout.last()
    summary = rollout.read(run_dir / "summary.json")
    assert summary["phases"]["web01"] == "rolled_back", summary
    assert "the canary failed (web01)" in summary["halted"]["reason"]
    assert "pplab-fault-http" in {p["name"] for p in plan_of(run_dir)["web01"]["packages"]}
    # the verification failed on the HTTP check and nothing else: the unit ran, the port listened
    failure = next(h["detail"] for h in rollout.host_record(run_dir, "web01")["history"] if h["phase"] == "failed")
    assert {c.split(":")[0] for c in failure["failed_checks"]} == {"http"}, failure
    assert "fault-http" in json.dumps(failure["failed_checks"]), failure
    for name in DEBIAN:  # the canary is back on its exact versions, no other host changed
        assert dpkg(lab, name) == before[name], name
    assert_services_run(lab, *DEBIAN)
    for name in ("db01", "app01"):
        assert summary["phases"][name] == "staged"
    assert "HALTED" in proc.stdout

    # what reached the servers, in order: the canary drained once, rebooted (its kernel update
    # asks for it) and enabled again once, by the undo, before the failure was told; no other
    # host's hook ran (their wave never started)
    run_id = rollout.read(run_dir / "run.json")["run_id"]
    calls = [(r.method, r.path) for r in http_server.requests]
    assert calls == [("POST", "/events"), ("POST", "/events"), ("POST", "/drain/web01"), ("POST", "/events"),
                     ("PUT", "/enable/web01"), ("POST", "/events"), ("POST", "/events")], calls
    events = [r.json() for r in http_server.received("/events")]
    assert [(e["event"], e["run_id"]) for e in events] == [
        (e, run_id) for e in ("start", "wave", "reboot", "failure", "done")], events
    assert events[1]["subject"] == f"patchpilot run {run_id}: wave 0 (canary) starts"
    assert events[1]["body"] == "hosts: web01"
    assert events[2]["hosts"] == ["web01"], events[2]
    assert events[3]["hosts"] == ["web01"] and "failed" in events[3]["subject"], events[3]
    assert events[4]["subject"] == f"patchpilot run {run_id}: {summary['state']}", events[4]
    assert rollout.read(run_dir / "archive" / "web01" / "hooks.json") == [], "the undone hook is still recorded"
    mails = smtp_server.wait_for(3)
    assert [(m.rcpt_tos, m["Subject"]) for m in mails] == [
        (["ops@example.org"], f"patchpilot run {run_id} starts"),
        (["ops@example.org"], f"patchpilot run {run_id}: web01 failed"),
        (["ops@example.org"], f"patchpilot run {run_id}: {summary['state']}")], mails


VERIFY_FAULTS = {
    "web01": ("pplab-fault-crash", {"failed_units", "http"}),
    "db01": ("pplab-fault-port", {"ports"}),
    "app01": ("pplab-fault-noisy", {"journal"}),
}


@pytest.fixture(scope="module")
def verify_faults_run(lab, tmp_path_factory):
    """One run, all hosts in one wave, each offered its own broken update; budget for all three."""
    lab.reset(*DEBIAN)
    folder = tmp_path_factory.mktemp("verify-faults")
    rollout = Rollout(lab, folder)
    for name, (package, _checks) in VERIFY_FAULTS.items():
        offer_fault(lab, name, package)
    before = {name: dpkg(lab, name) for name in DEBIAN}
    # no reboot: the verification, not the reboot's own check, must catch the broken service
    rules = policy(rollout={"canary": None, "waves": ["rest"], "anti_affinity": []}, budget={"max_failed": 3},
                   reboot="never", health_checks={"http": [{"url": "http://127.0.0.1:8081/", "status": 200, "name": "http"}],
                                  "journal_errors_max": 20})
    rules["rollout"].pop("canary")
    proc = rollout.run(rules)
    yield {"proc": proc, "before": before, "run_dir": rollout.last(), "rollout": rollout}
    lab.reset(*DEBIAN)


@pytest.mark.parametrize("host", sorted(VERIFY_FAULTS))
def test_a_failed_verification_rolls_the_host_back(lab, verify_faults_run, host):
    package, checks = VERIFY_FAULTS[host]
    run_dir = verify_faults_run["run_dir"]
    rollout = verify_faults_run["rollout"]
    assert package in {p["name"] for p in plan_of(run_dir)[host]["packages"]}
    # the failed verification as recorded (verify.json holds the passing one after the rollback)
    failure = next(h["detail"] for h in rollout.host_record(run_dir, host)["history"] if h["phase"] == "failed")
    failed = set(failure["failed_checks"])
    assert checks <= {c.split(":")[0] for c in failed}, (host, failure)
    assert failure["message"].startswith(f"verify failed on {host}: "), failure
    assert rollout.host_record(run_dir, host)["phase"] == "rolled_back"
    assert dpkg(lab, host) == verify_faults_run["before"][host], f"{host} is not back on its versions"
    assert service_states(lab, host)[package + ".service"] == "active"
    assert_services_run(lab, *DEBIAN)  # the rolled-back host's services run again, and the others'
    assert verify_faults_run["proc"].returncode != 0


INSTALLED_LIST = "dpkg-query -W -f '${db:Status-Status} ${Package}:${Architecture}=${Version}\\n'"


def test_each_rolled_back_host_carries_its_last_run_as_a_local_fact(lab, verify_faults_run):
    """facts.d: each host's last run, result and revision level; fact gathering (without become) shows it."""
    run_dir, rollout = verify_faults_run["run_dir"], verify_faults_run["rollout"]
    plan = plan_of(run_dir)
    gathered = lab.ansible_json(LIMIT, "-m", "ansible.builtin.setup", "-a", "filter=ansible_local")
    for name in DEBIAN:
        host = lab.host(name)
        assert lab.ssh(host, "stat -c '%U %a' /etc/ansible/facts.d/patchpilot.fact").stdout.split() == ["root", "644"]
        fact = json.loads(lab.ssh(host, "cat /etc/ansible/facts.d/patchpilot.fact").stdout)
        record = rollout.host_record(run_dir, name)
        assert (fact["run_id"], fact["host"], fact["result"]) == (run_dir.name, name, "rolled_back"), fact
        assert fact["at"] == next(h["at"] for h in record["history"] if h["phase"] == "rolled_back")
        assert fact["planned_packages"] == len(plan[name]["packages"]) > 0
        assert fact["planned_removals"] == len(plan[name]["removals"])
        assert fact["machine_id"] == lab.ssh(host, "cat /etc/machine-id").stdout.strip()
        # the revision level, by the test's own reading of the host
        installed = sorted(line.split(" ", 1)[1] for line in lab.ssh(host, INSTALLED_LIST).stdout.splitlines()
                           if line.startswith("installed "))
        assert fact["revision"] == {
            "os": lab.ssh(host, ". /etc/os-release && echo \"$PRETTY_NAME\"").stdout.strip(),
            "os_version": host["release"], "kernel": lab.ssh(host, "uname -r").stdout.strip(),
            "packages": len(installed),
            "packages_digest": "sha256:" + hashlib.sha256("\n".join(installed).encode()).hexdigest()}, fact
        assert gathered[name]["ansible_facts"]["ansible_local"]["patchpilot"] == fact


def test_an_emergency_by_cve_patches_the_package_that_fixes_it_now(lab, rollout):
    # CVE-2026-90002 is named only by pplab-seclib's Debian changelog (no tracker export is given).
    # db01 has the fix already: nothing fixes the CVE there, so the emergency leaves it alone.
    lab.ssh(next(h for h in lab.hosts if h["name"] == "db01"),
            "sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q pplab-seclib=1.0-1+lab1sec1")
    before = {name: dpkg(lab, name) for name in DEBIAN}
    path = rollout.folder / "policy.yml"
    rules = policy(windows={"timezone": "UTC", "maintenance": [{"name": "never-now", "days": ["sun"],
                                                                "start": "03:00", "end": "03:01"}]})
    path.write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", lab.inventory, str(ROOT / "playbooks" / "emergency.yml"),
         "--limit", LIMIT, "-e", f"patchpilot_policy={path}", "-e", f"patchpilot_run_base={rollout.runs}",
         "-e", f"patchpilot_plan_dir={rollout.plans}", "-e", "patchpilot_emergency_cve=CVE-2026-90002"],
        cwd=rollout.folder, env=ansible_env(), capture_output=True, text=True, timeout=1800, check=False)
    assert proc.returncode == 0, explain(proc)
    run_dir = rollout.last()
    plan = rollout.read(run_dir / "plan.json")
    assert plan["emergency"] and "windows" in plan["bypassed"]
    assert plan["waves"][0]["canary"] and plan["waves"][0]["hosts"] == ["web01"]
    for entry in plan["hosts"]:
        if entry["host"] == "db01":
            # no update fixes the CVE there: the host is in no wave (its other updates wait)
            assert entry["status"] != "rollout" and entry["wave"] is None, entry
            assert entry["emergency_cves"]["CVE-2026-90002"] == {
                "state": "not_fixed", "packages": [], "text": "not fixed by any available update"}
            continue
        assert [p["name"] for p in entry["packages"]] == ["pplab-seclib"], entry
        assert entry["emergency_cves"]["CVE-2026-90002"] == {
            "state": "fixed", "packages": ["pplab-seclib 1.0-1+lab1sec1"], "text": "fixed by pplab-seclib 1.0-1+lab1sec1"}
    assert dpkg(lab, "db01") == before["db01"]  # the host the CVE needs nothing of is unchanged
    for name in DEBIAN:
        after = dpkg(lab, name)
        assert after["pplab-seclib"] == "1.0-1+lab1sec1"
        assert {p: v for p, v in after.items() if p != "pplab-seclib"} == \
               {p: v for p, v in before[name].items() if p != "pplab-seclib"}, name
    assert_services_run(lab, *DEBIAN)


def test_a_bad_emergency_request_is_refused_before_any_host(lab, tmp_path):
    # refused before any host is contacted: the hosts need no reset
    path = tmp_path / "policy.yml"
    path.write_text(yaml.safe_dump(policy()), encoding="utf-8")
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", lab.inventory, str(ROOT / "playbooks" / "emergency.yml"),
         "--limit", LIMIT, "-e", f"patchpilot_policy={path}", "-e", "patchpilot_emergency_cve=openssl"],
        cwd=tmp_path, env=ansible_env(), capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode != 0
    assert "is not a CVE id" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    assert_services_run(lab, *DEBIAN)


def test_a_freeze_stops_the_run_before_any_host_changes(lab, rollout):
    # planned past the freeze, the canary wave does not start: nothing is installed anywhere
    before = {name: dpkg(lab, name) for name in DEBIAN}
    logs = {name: dpkg_log_lines(lab, name) for name in DEBIAN}
    today = datetime.now(timezone.utc).date()
    freeze = {"start": str(today - timedelta(days=1)), "end": str(today + timedelta(days=2)), "reason": "year-end freeze"}
    proc = rollout.run(policy(windows={"timezone": "UTC", "maintenance": [], "freezes": [freeze]}))
    assert proc.returncode != 0, explain(proc)
    run_dir = rollout.last()
    plan = rollout.read(run_dir / "plan.json")
    first = plan["waves"][0]
    assert first["canary"] and first["hosts"] == ["web01"]
    assert plan_of(run_dir)["web01"]["packages"], "web01 had nothing to patch: the test proves nothing"
    assert [d["reason"] for d in first["deferred"]] == ["frozen: year-end freeze"], first
    assert date.fromisoformat(first["start"][:10]) == today + timedelta(days=3), first
    flat = " ".join(proc.stdout.split())
    assert (f"wave 0 (web01) does not start: wave 0 is planned to start at {first['start']}, after the freeze"
            " (year-end freeze): rerun then") in flat, explain(proc)
    assert rollout.read(run_dir / "run.json")["state"] == "running", "the held run was closed"
    # (a run left open writes no summary: the hosts' records say where each one stopped)
    assert {name: rollout.host_record(run_dir, name)["phase"] for name in DEBIAN} == dict.fromkeys(DEBIAN, "staged")
    for name in DEBIAN:
        assert dpkg(lab, name) == before[name], name
        assert dpkg_log_lines(lab, name) == logs[name], f"dpkg ran on {name}"
    assert_services_run(lab, *DEBIAN)


def zone_at_noon(now: datetime) -> str:
    """A whole-hour zone in which it is about noon at ``now``: a window from 06:00 to now + 30 minutes
    neither crosses midnight nor misses the canary, whenever the test runs."""
    east = 12 - now.hour  # hours east of UTC, -11 .. 12; the Etc/GMT names count the other way
    return f"Etc/GMT{-east:+d}" if east else "UTC"


def test_a_wave_outside_its_window_is_held_after_the_canary(lab, rollout):
    # today's window has room for the canary (20 minutes) but not for the wave after it (20
    # more: the window closes 30 minutes after the test starts): that wave is planned in
    # tomorrow's window, and the run stops before it
    before = {name: dpkg(lab, name) for name in DEBIAN}
    logs = {name: dpkg_log_lines(lab, name) for name in DEBIAN}
    now = datetime.now(timezone.utc)
    zone = zone_at_noon(now)
    local_end = (now + timedelta(minutes=30)).astimezone(ZoneInfo(zone))
    window = {"name": "day-shift", "start": "06:00", "end": f"{local_end:%H:%M}"}
    rules = policy(windows={"timezone": zone, "maintenance": [window]}, reboot="never",
                   rollout={"waves": ["rest"], "anti_affinity": [], "minutes_per_host": 20})
    proc = rollout.run(rules)
    assert proc.returncode != 0, explain(proc)
    run_dir = rollout.last()
    plan = rollout.read(run_dir / "plan.json")
    canary, wave = plan["waves"]
    assert canary["hosts"] == ["web01"] and [p["window"] for p in canary["schedule"]] == ["day-shift"], canary
    assert wave["hosts"] == ["app01", "db01"] and [p["window"] for p in wave["schedule"]] == ["day-shift"], wave
    assert wave["start"][:10] == str((local_end + timedelta(days=1)).date()) and wave["start"][11:16] == "06:00", wave
    assert [d["window"] for d in wave["deferred"]] == ["day-shift"], wave
    assert wave["deferred"][0]["reason"].startswith(f"needs {wave['minutes']} minutes, "), wave["deferred"]
    flat = " ".join(proc.stdout.split())
    assert f"wave 1 (app01, db01) does not start: wave 1 is planned to start at {wave['start']}: rerun then" in flat, \
        explain(proc)
    assert rollout.read(run_dir / "run.json")["state"] == "running", "the held run was closed"
    phases = {name: rollout.host_record(run_dir, name)["phase"] for name in DEBIAN}
    assert phases == {"web01": "done", "db01": "staged", "app01": "staged"}, phases
    assert_as_planned(lab, plan_of(run_dir)["web01"])
    for name in ("db01", "app01"):
        assert dpkg(lab, name) == before[name], name
        assert dpkg_log_lines(lab, name) == logs[name], f"dpkg ran on {name}"
    assert_services_run(lab, *DEBIAN)
