"""playbooks/patch.yml on the lab: the whole rollout, and the faults it must survive.

Every test runs the real playbook against real Debian hosts and then reads
every host back (``dpkg-query -W``, services, ports): the versions must be the
plan's on the hosts that were patched and exactly the old ones everywhere
else. Faults are real: the lab repository's broken updates (component
``faults``), a stopped container, a killed ansible-playbook, a held dpkg lock.

A host is offered one fault package at a time: its apt preferences pin every
other package of the ``faults`` component away (priority -1).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from labkit import ROOT, VENV_BIN, ansible_env

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


def offer_fault(lab, name: str, package: str) -> None:
    """Give the host the faults component, pinned so that only ``package`` of it can be installed."""
    sources = (f"deb [signed-by={KEYRING}] file:{REPO} lab main faults\n"
               f"deb [signed-by={KEYRING}] file:{REPO} lab-security main\n")
    # apt takes the first record that matches a package: the offered one comes first
    prefs = (f"Package: {package}\nPin: release c=faults\nPin-Priority: 500\n\n"
             "Package: pplab-fault-*\nPin: release c=faults\nPin-Priority: -1\n")
    lab.ssh(lab.host(name), f"printf %s '{sources}' | sudo tee /etc/apt/sources.list.d/patchpilot-lab.list >/dev/null"
                            f" && printf %s '{prefs}' | sudo tee /etc/apt/preferences.d/patchpilot-faults >/dev/null"
                            " && sudo apt-get update -qq")
    simulated = lab.ssh(lab.host(name), "apt-get -s dist-upgrade").stdout
    offered = sorted({line.split()[1] for line in simulated.splitlines() if line.startswith("Inst pplab-fault-")})
    assert offered == [package], f"{name}: fault updates offered: {offered}"


def plan_of(run_dir: Path) -> dict:
    return {entry["host"]: entry for entry in Rollout.read(run_dir / "plan.json")["hosts"]}


def assert_as_planned(lab, entry: dict) -> None:
    found = dpkg(lab, entry["host"])
    for package in entry["packages"]:
        assert found.get(package["name"]) == package["version"], (entry["host"], package["name"], found.get(package["name"]))
    for removal in entry["removals"]:
        assert removal["name"] not in found, (entry["host"], removal["name"])


@pytest.fixture
def rollout(lab, tmp_path):
    lab.reset(*DEBIAN)
    yield Rollout(lab, tmp_path)
    lab.reset(*DEBIAN)


def test_check_shows_the_plan_and_the_real_run_installs_exactly_it(lab, rollout):
    # app01 already has the kernel update: it is the one host that needs no reboot
    lab.ssh(lab.host("app01"), "sudo apt-get install -y -qq pplab-kernel=1.1-1 >/dev/null && sudo rm -f /run/reboot-required*")
    # a held package is never installed
    lab.ssh(lab.host("db01"), "sudo apt-mark hold pplab-web >/dev/null")
    before = {name: dpkg(lab, name) for name in DEBIAN}
    booted = {name: pid1_start(lab, name) for name in DEBIAN}

    check = rollout.run(policy(), "--check")
    assert check.returncode == 0, explain(check)
    assert "wave 0 (canary): web01" in check.stdout
    plan_path = Path(next(line.split(": ", 1)[1] for line in check.stdout.splitlines()
                          if line.strip().startswith("plan ") and ".json" in line).strip())
    assert plan_path.is_file()
    assert rollout.run_dirs() == [], "--check must not start a run"
    assert {name: dpkg(lab, name) for name in DEBIAN} == before, "--check changed a host"

    real = rollout.run(policy(), "-e", f"patchpilot_plan_file={plan_path}")
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

    # anti-affinity: db01 and app01 were never down together
    waves = {name: checked[name]["wave"] for name in DEBIAN}
    assert waves["db01"] != waves["app01"]

    def window(name):
        history = rollout.host_record(run_dir, name)["history"]
        return (next(h["at"] for h in history if h["phase"] == "snapshotted"),
                next(h["at"] for h in history if h["phase"] == "done"))
    first, second = sorted((window("db01"), window("app01")))
    assert first[1] <= second[0], (first, second)

    # the lock is released; a second run finds nothing to do
    assert not list((rollout.runs / "locks").glob("*.lock"))
    again = rollout.run(policy())
    assert again.returncode == 0, explain(again)
    assert {name: dpkg(lab, name) for name in DEBIAN} == {name: dpkg(lab, name) for name in DEBIAN}
    assert rollout.read(rollout.last() / "summary.json")["phases"] == {}


def test_a_failing_canary_stops_the_run_and_is_rolled_back(lab, rollout):
    offer_fault(lab, "web01", "pplab-fault-postinst")
    before = {name: dpkg(lab, name) for name in DEBIAN}
    proc = rollout.run(policy())
    assert proc.returncode != 0, explain(proc)
    run_dir = rollout.last()
    summary = rollout.read(run_dir / "summary.json")
    assert summary["phases"]["web01"] == "rolled_back", summary
    assert "the canary failed (web01)" in summary["halted"]["reason"]
    assert "pplab-fault-postinst" in {p["name"] for p in plan_of(run_dir)["web01"]["packages"]}
    for name in DEBIAN:  # the canary is back on its exact versions, no other host changed
        assert dpkg(lab, name) == before[name], name
    for name in ("db01", "app01"):
        assert summary["phases"][name] == "staged"
    assert "HALTED" in proc.stdout


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
    assert failure["step"] == "Verify the host against its baseline", failure
    assert rollout.host_record(run_dir, host)["phase"] == "rolled_back"
    assert dpkg(lab, host) == verify_faults_run["before"][host], f"{host} is not back on its versions"
    service = package + ".service"
    assert lab.ssh(lab.host(host), f"systemctl is-active {service}").stdout.strip() == "active"
    assert verify_faults_run["proc"].returncode != 0


def test_a_spent_budget_stops_the_next_wave_and_a_held_dpkg_lock_fails_cleanly(lab, rollout):
    offer_fault(lab, "app01", "pplab-fault-postinst")
    before = {name: dpkg(lab, name) for name in DEBIAN}
    # dpkg's lock as apt and dpkg take it (an fcntl lock: flock(1) would be invisible to them)
    hold = ("sudo python3 -c \"import fcntl,time;f=open('/var/lib/dpkg/lock-frontend','w');"
            "fcntl.lockf(f,fcntl.LOCK_EX);print('locked',flush=True);time.sleep(900)\"")
    holder = subprocess.Popen(lab.ssh_argv(lab.host("db01"), hold), stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        rules = policy(rollout={"waves": [2, "rest"], "anti_affinity": []}, budget={"max_failed": 1})
        rules["rollout"].pop("canary")
        proc = rollout.run(rules, "-e", "preflight_lock_timeout=15")
    finally:
        os.killpg(holder.pid, signal.SIGTERM)
        holder.wait()
        # (pkill -f also matches the shell running it: its exit status says nothing)
        lab.ssh(lab.host("db01"), "sudo pkill -f 'fcntl.lockf'", check=False)
    assert proc.returncode != 0, explain(proc)
    run_dir = rollout.last()
    plan = plan_of(run_dir)
    summary = rollout.read(run_dir / "summary.json")
    assert plan["app01"]["wave"] == plan["db01"]["wave"] < plan["web01"]["wave"]
    db01 = rollout.host_record(run_dir, "db01")
    assert db01["phase"] == "failed" and "lock" in json.dumps(db01["history"][-1]["detail"]).lower()
    assert summary["phases"]["app01"] == "rolled_back"
    assert "budget is spent" in summary["halted"]["reason"]
    assert summary["phases"]["web01"] == "staged", "the next wave started"
    for name in DEBIAN:
        assert dpkg(lab, name) == before[name], name


def test_an_unreachable_host_does_not_stop_its_wave_and_a_rerun_patches_it(lab, rollout):
    rules = policy(rollout={"waves": ["rest"], "anti_affinity": []}, budget={"max_failed": 1})
    rules["rollout"].pop("canary")
    proc = rollout.start(rules)
    try:
        def wave_started():
            found = rollout.run_dirs()
            return found and rollout.host_record(found[-1], "web01")["phase"] in ("snapshotted", "patched")
        rollout.wait_for(wave_started, proc=proc)
        subprocess.run(["podman", "stop", "-t", "0", rollout.lab.host("web01")["container"]], check=True,
                       capture_output=True)
        proc.wait(timeout=1800)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    run_dir = rollout.last()
    run = rollout.read(run_dir / "run.json")
    assert run["state"] == "running", run
    record = rollout.host_record(run_dir, "web01")
    assert record["history"][-1]["detail"]["unreachable"] is True
    assert rollout.host_record(run_dir, "db01")["phase"] == "done"
    assert rollout.host_record(run_dir, "app01")["phase"] == "done"
    db_log = dpkg_log_lines(lab, "db01")

    subprocess.run(["podman", "start", rollout.lab.host("web01")["container"]], check=True, capture_output=True)
    rollout.wait_for(lambda: lab.ssh(lab.host("web01"), "true", check=False).returncode == 0, timeout=120)
    again = rollout.run(rules)
    assert again.returncode == 0, explain(again)
    assert rollout.last() == run_dir, "the rerun did not continue the interrupted run"
    assert rollout.read(run_dir / "summary.json")["state"] == "completed"
    entry = plan_of(run_dir)
    for name in DEBIAN:
        assert_as_planned(lab, entry[name])
    assert dpkg_log_lines(lab, "db01") == db_log, "a finished host was patched again"


def test_a_killed_controller_is_refused_a_second_run_and_continued_by_a_rerun(lab, rollout):
    rules = policy()
    first = rollout.start(rules)
    try:
        def canary_done():
            found = rollout.run_dirs()
            return found and rollout.host_record(found[-1], "web01")["phase"] == "done" and \
                rollout.host_record(found[-1], "app01")["phase"] not in ("pending", "preflight", "staged")
        rollout.wait_for(canary_done, proc=first)
        # a second run of the same scope is refused by the lock, and touches nothing
        second = rollout.run(rules)
        assert second.returncode != 0 and "another run holds the lock" in second.stdout + second.stderr, explain(second)
        assert len(rollout.run_dirs()) == 1
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    run_dir = rollout.last()
    web_log = dpkg_log_lines(lab, "web01")
    patched_before = [h for h in rollout.host_record(run_dir, "web01")["history"] if h["phase"] == "patched"]

    again = rollout.run(rules)
    assert again.returncode == 0, explain(again)
    assert "STALE LOCK taken over" in again.stdout + again.stderr
    assert rollout.last() == run_dir
    assert rollout.read(run_dir / "summary.json")["state"] == "completed"
    assert [h for h in rollout.host_record(run_dir, "web01")["history"] if h["phase"] == "patched"] == patched_before
    assert dpkg_log_lines(lab, "web01") == web_log, "the canary was patched twice"
    for name, entry in plan_of(run_dir).items():
        assert_as_planned(lab, entry)


def test_an_emergency_patches_one_package_now(lab, rollout):
    before = {name: dpkg(lab, name) for name in DEBIAN}
    path = rollout.folder / "policy.yml"
    rules = policy(windows={"timezone": "UTC", "maintenance": [{"name": "never-now", "days": ["sun"],
                                                                "start": "03:00", "end": "03:01"}]})
    path.write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", lab.inventory, str(ROOT / "playbooks" / "emergency.yml"),
         "--limit", LIMIT, "-e", f"patchpilot_policy={path}", "-e", f"patchpilot_run_base={rollout.runs}",
         "-e", f"patchpilot_plan_dir={rollout.plans}", "-e", "patchpilot_emergency_package=pplab-seclib"],
        cwd=rollout.folder, env=ansible_env(), capture_output=True, text=True, timeout=1800, check=False)
    assert proc.returncode == 0, explain(proc)
    run_dir = rollout.last()
    plan = rollout.read(run_dir / "plan.json")
    assert plan["emergency"] and "windows" in plan["bypassed"]
    assert plan["waves"][0]["canary"] and plan["waves"][0]["hosts"] == ["web01"]
    for name in DEBIAN:
        after = dpkg(lab, name)
        assert after["pplab-seclib"] == "1.0-1+lab1sec1"
        assert {p: v for p, v in after.items() if p != "pplab-seclib"} == \
               {p: v for p, v in before[name].items() if p != "pplab-seclib"}, name


def test_a_bad_emergency_request_is_refused_before_any_host(lab, rollout):
    path = rollout.folder / "policy.yml"
    path.write_text(yaml.safe_dump(policy()), encoding="utf-8")
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", lab.inventory, str(ROOT / "playbooks" / "emergency.yml"),
         "--limit", LIMIT, "-e", f"patchpilot_policy={path}", "-e", "patchpilot_emergency_cve=openssl"],
        cwd=rollout.folder, env=ansible_env(), capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode != 0
    assert "is not a CVE id" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


SMALL_VAR = "pp-rollout-smallvar"


@pytest.fixture
def small_var_host(lab, tmp_path):
    """A lab host (Debian 12 image) whose /var is a small filesystem of its own, nearly full.

    podman copies the image's /var into the tmpfs, so dpkg's database is there;
    Ansible reaches the container with the podman connection.
    """
    subprocess.run(["podman", "rm", "-f", SMALL_VAR], capture_output=True, check=False)
    subprocess.run(["podman", "run", "-d", "--name", SMALL_VAR, "--hostname", "smallvar", "--network", "none",
                    "--systemd", "always", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096",
                    "--mount", "type=tmpfs,destination=/var,tmpfs-size=200m",
                    "-v", f"{lab.state['repo_dir']}:/srv/patchpilot-repo:ro",
                    "localhost/patchpilot-lab/host:debian12", "/sbin/init"], check=True, capture_output=True)
    try:
        def booted():
            proc = subprocess.run(["podman", "exec", SMALL_VAR, "systemctl", "is-system-running"],
                                  capture_output=True, text=True, check=False)
            return proc.stdout.strip() in ("running", "degraded")
        Rollout(lab, tmp_path).wait_for(booted, timeout=60)
        # leave about 8 MiB: enough for apt's lists (the scan), far below preflight's default 500 MiB
        subprocess.run(["podman", "exec", SMALL_VAR, "sh", "-c",
                        "avail=$(df -Pk /var | awk 'NR==2 {print $4}'); fallocate -l $(( (avail - 8192) * 1024 )) /var/fill"],
                       check=True, capture_output=True)
        inventory = tmp_path / "smallvar.yml"
        inventory.write_text(yaml.safe_dump({"all": {"hosts": {"smallvar": {
            "ansible_connection": "containers.podman.podman", "ansible_host": SMALL_VAR,
            "ansible_python_interpreter": "/usr/bin/python3",
            "patchpilot_vendor_origins": ["Debian", "Patchpilot Lab", "patchpilot-lab"],
            "patchpilot_reboot_packages": ["pplab-kernel"]}}}}), encoding="utf-8")
        yield inventory
    finally:
        subprocess.run(["podman", "rm", "-f", SMALL_VAR], capture_output=True, check=False)


def container_dpkg(name: str) -> dict:
    out = subprocess.run(["podman", "exec", name, "dpkg-query", "-W", "-f", "${Package}\t${Version}\n"],
                         capture_output=True, text=True, check=True).stdout
    return dict(line.split("\t") for line in out.splitlines())


def test_a_full_var_is_refused_by_preflight_before_any_change(lab, tmp_path, small_var_host):
    rollout = Rollout(lab, tmp_path)
    before = container_dpkg(SMALL_VAR)
    rules = policy(rollout={"canary": None, "waves": ["rest"], "anti_affinity": []}, budget={"max_failed": 0})
    rules["rollout"].pop("canary")
    argv = rollout.argv(rules, limit="smallvar")
    argv[argv.index("-i") + 1] = str(small_var_host)
    proc = subprocess.run(argv, cwd=tmp_path, env=ansible_env(), capture_output=True, text=True, timeout=1200,
                          check=False)
    assert proc.returncode != 0, explain(proc)
    run_dir = rollout.last()
    assert plan_of(run_dir)["smallvar"]["packages"], "the host had nothing to patch: the test proves nothing"
    record = rollout.host_record(run_dir, "smallvar")
    assert record["phase"] == "failed"
    message = record["history"][-1]["detail"]["message"]
    assert "free_space" in message and "/var" in message, message
    assert [h["phase"] for h in record["history"]] == ["pending", "failed"], "the host went past preflight"
    assert container_dpkg(SMALL_VAR) == before
