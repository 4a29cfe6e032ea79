"""playbooks/patch.yml on the lab, the second half: faults in the middle of a run.

A spent failure budget with a held dpkg lock; a killed ansible-playbook, the run lock and
a host that goes unreachable (one run, interrupted twice, read by two tests); a full /var.
The helpers are test_rollout.py's; the two files are apart so that ./dev test's two
workers can run them at the same time.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess

import pytest
import yaml

from labkit import ROOT, VENV_BIN, ansible_env
from support.servers import HTTPServer, http_server  # noqa: F401 (fixture)
from test_rollout import (DEBIAN, Rollout, assert_as_planned, assert_services_run, dpkg, dpkg_log_lines, explain, lab_units,
                          offer_fault, plan_of, policy)

pytestmark = pytest.mark.lab
# a file whose presence fails the health check "not marked unhealthy"
UNHEALTHY = "/etc/pptest-unhealthy"


@pytest.fixture(name="rollout")
def fresh_rollout(lab, tmp_path):
    lab.reset(*DEBIAN)
    yield Rollout(lab, tmp_path)
    lab.reset(*DEBIAN)


def test_a_spent_budget_stops_the_next_wave_and_a_held_dpkg_lock_fails_cleanly(lab, rollout):
    offer_fault(lab, "app01", "pplab-fault-postinst")
    before = {name: dpkg(lab, name) for name in DEBIAN}
    # dpkg's lock as apt and dpkg take it (an fcntl lock: flock(1) would be invisible to them)
    hold = ("sudo python3 -c \"import fcntl,time;f=open('/var/lib/dpkg/lock-frontend','w');"
            "fcntl.lockf(f,fcntl.LOCK_EX);print('locked',flush=True);time.sleep(900)\"")
    holder = subprocess.Popen(lab.ssh_argv(lab.host("web01"), hold), stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    # app01 is unhealthy before the patch and after its rollback: a health check that fails there throughout
    lab.ssh(lab.host("app01"), f"sudo touch {UNHEALTHY}")
    try:
        assert holder.stdout.readline().strip() == "locked"
        rules = policy(rollout={"waves": [2, "rest"], "anti_affinity": []}, budget={"max_failed": 1},
                       health_checks={"commands": [{"name": "not marked unhealthy", "command": ["test", "!", "-e", UNHEALTHY]}]})
        rules["rollout"].pop("canary")
        proc = rollout.run(rules, "-e", "preflight_lock_timeout=15")
    finally:
        os.killpg(holder.pid, signal.SIGTERM)
        holder.wait()
        # (pkill -f also matches the shell running it: its exit status says nothing)
        lab.ssh(lab.host("web01"), "sudo pkill -f 'fcntl.lockf'", check=False)
        lab.ssh(lab.host("app01"), f"sudo rm -f {UNHEALTHY}", check=False)
    assert proc.returncode != 0, explain(proc)
    run_dir = rollout.last()
    plan = plan_of(run_dir)
    summary = rollout.read(run_dir / "summary.json")
    # least critical first (the CMDB's: app01 low, web01 medium, db01 high): the two faults share a wave
    assert plan["app01"]["wave"] == plan["web01"]["wave"] < plan["db01"]["wave"]
    web01 = rollout.host_record(run_dir, "web01")
    assert web01["phase"] == "failed" and "lock" in json.dumps(web01["history"][-1]["detail"]).lower()
    assert summary["phases"]["app01"] == "rolled_back"
    # a rollback's two facts, apart: app01's versions are back, its health check still fails (as before the patch)
    app01 = rollout.host_record(run_dir, "app01")["history"][-1]["detail"]
    assert app01["versions_restored"] is True and app01["differences"] == [], app01
    assert app01["healthy"] is False and app01["failed_checks"] == ["command:not marked unhealthy"], app01
    assert summary["rollbacks"]["app01"] == {"versions_restored": True, "healthy": False}
    flat = " ".join(proc.stdout.split())  # the yaml callback wraps long messages
    assert "ROLLBACK FAILED" not in flat
    assert "1 rolled back (1 not healthy after it)" in flat, explain(proc)
    assert "(rollback: versions restored, host NOT healthy)" in flat, explain(proc)
    assert "budget is spent" in summary["halted"]["reason"]
    assert summary["phases"]["db01"] == "staged", "the next wave started"
    for name in DEBIAN:
        assert dpkg(lab, name) == before[name], name
    assert_services_run(lab, *DEBIAN)


@pytest.fixture(scope="module")
def interrupted_run(lab, tmp_path_factory):
    """One run interrupted twice, each test reading what it needs.

    The canary web01, then db01 and app01 in one wave (no anti-affinity). While the canary
    runs, a second run of the same scope is tried (the lock refuses it); once app01 is past
    staging the controller is killed (SIGKILL: the run lock stays behind). A first rerun
    takes the stale lock over and continues the wave, and db01's container is stopped in
    the middle of it: app01 finishes, db01 is recorded unreachable and the run stays open. A
    second rerun, db01 back, patches db01 and completes the run.

    Each host has a pre-host hook with an undo (a call to a server on loopback): the reruns
    run it again on the hosts they take up.
    """
    lab.reset(*DEBIAN)
    server = HTTPServer().start()
    rollout = Rollout(lab, tmp_path_factory.mktemp("interrupted"))
    rules = policy(rollout={"waves": ["rest"], "anti_affinity": []}, budget={"max_failed": 1},
                   hooks={"pre_host": [{"name": "drain", "url": server.url + "/drain/{host}",
                                        "undo": {"name": "enable", "url": server.url + "/enable/{host}"}}]})
    seen: dict = {"rules": rules, "hooks_server": server}

    def phases(name):
        found = rollout.run_dirs()
        return [h["phase"] for h in rollout.host_record(found[-1], name)["history"]] if found else []

    first = rollout.start(rules)
    try:
        rollout.wait_for(lambda: "snapshotted" in phases("web01"), proc=first)
        # a second run of the same scope is refused by the lock, and touches nothing
        seen["second"] = rollout.run(rules)
        seen["run_dirs_while_locked"] = len(rollout.run_dirs())
        rollout.wait_for(lambda: phases("web01")[-1:] == ["done"] and
                         phases("app01")[-1:] not in (["pending"], ["preflight"], ["staged"]), proc=first)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    run_dir = rollout.last()
    seen["run_dir"] = run_dir
    seen["web_log"] = dpkg_log_lines(lab, "web01")
    seen["web_patched"] = [h for h in rollout.host_record(run_dir, "web01")["history"] if h["phase"] == "patched"]
    seen["db01_at_kill"] = phases("db01")

    db01 = lab.host("db01")["container"]
    rerun = rollout.start(rules)
    try:
        # the rerun takes db01 up again (a new snapshotted record): db01 goes away in the middle
        known = len(seen["db01_at_kill"])
        rollout.wait_for(lambda: phases("db01")[known:].count("snapshotted") >= 1, proc=rerun)
        subprocess.run(["podman", "stop", "-t", "0", db01], check=True, capture_output=True)
        rerun.wait(timeout=1800)
    finally:
        if rerun.poll() is None:
            os.killpg(rerun.pid, signal.SIGKILL)
    # the rerun's output (Rollout.start writes it to background-<time>.log)
    seen["rerun_output"] = max(rollout.folder.glob("background-*.log")).read_text(encoding="utf-8", errors="replace")
    seen["run_dirs_after_rerun"] = [p.name for p in rollout.run_dirs()]
    seen["run_after_rerun"] = rollout.read(run_dir / "run.json")
    seen["records_after_rerun"] = {name: rollout.host_record(run_dir, name) for name in DEBIAN}
    seen["app_log"] = dpkg_log_lines(lab, "app01")

    subprocess.run(["podman", "start", db01], check=True, capture_output=True)
    rollout.wait_for(lambda: lab.ssh(lab.host("db01"), "true", check=False).returncode == 0, timeout=120)
    seen["again"] = rollout.run(rules)
    seen["last_after_again"] = rollout.last()
    server.stop()
    yield rollout, seen
    lab.reset(*DEBIAN)


def test_a_killed_controller_is_refused_a_second_run_and_continued_by_a_rerun(lab, interrupted_run):
    rollout, seen = interrupted_run
    second, again, run_dir = seen["second"], seen["again"], seen["run_dir"]
    assert second.returncode != 0 and "another run holds the lock" in second.stdout + second.stderr, explain(second)
    assert seen["run_dirs_while_locked"] == 1
    assert "STALE LOCK taken over" in seen["rerun_output"]
    assert again.returncode == 0, explain(again)
    assert seen["last_after_again"] == run_dir
    assert rollout.read(run_dir / "summary.json")["state"] == "completed"
    # the canary, done before the kill, was never patched again by either rerun
    assert [h for h in rollout.host_record(run_dir, "web01")["history"] if h["phase"] == "patched"] == seen["web_patched"]
    assert dpkg_log_lines(lab, "web01") == seen["web_log"], "the canary was patched twice"
    for name, entry in plan_of(run_dir).items():
        assert_as_planned(lab, entry)
    assert_services_run(lab, *DEBIAN)


def test_an_unreachable_host_does_not_stop_its_wave_and_a_rerun_patches_it(lab, interrupted_run):
    rollout, seen = interrupted_run
    run_dir, again = seen["run_dir"], seen["again"]
    assert seen["run_dirs_after_rerun"] == [run_dir.name], "the first rerun did not continue the killed run"
    assert seen["run_after_rerun"]["state"] == "running", seen["run_after_rerun"]
    records = seen["records_after_rerun"]
    assert records["db01"]["history"][-1]["detail"]["unreachable"] is True, records["db01"]["history"][-1]
    assert records["app01"]["phase"] == "done", "db01 going away stopped its wave"
    assert records["web01"]["phase"] == "done"

    assert again.returncode == 0, explain(again)
    assert seen["last_after_again"] == run_dir, "the rerun did not continue the interrupted run"
    assert rollout.read(run_dir / "summary.json")["state"] == "completed"
    entry = plan_of(run_dir)
    for name in DEBIAN:
        assert_as_planned(lab, entry[name])
    assert dpkg_log_lines(lab, "app01") == seen["app_log"], "a finished host was patched again"
    assert_services_run(lab, *DEBIAN)  # db01 too, stopped in the middle of its patch and patched by the rerun


def test_a_rerun_runs_a_hosts_hooks_again_and_keeps_each_once(interrupted_run):
    rollout, seen = interrupted_run
    server, run_dir = seen["hooks_server"], seen["run_dir"]
    drains = {name: len(server.received(f"/drain/{name}")) for name in DEBIAN}
    # the canary, done before the kill, drained once; db01 and app01 again by the rerun(s)
    assert drains["web01"] == 1 and drains["app01"] >= 2 and drains["db01"] >= 2, drains
    assert [r.path for r in server.requests if not r.path.startswith("/drain/")] == [], "a hook was undone"
    # the state file holds the hook once per host (the undo of a host that fails runs once)
    for name in DEBIAN:
        done = rollout.read(run_dir / "archive" / name / "hooks.json")
        assert [(e["phase"], e["name"], e["undo"]["name"]) for e in done] == [("pre_host", "drain", "enable")], \
            (name, done)


def rollback_later(rollout, run_dir, limit: str) -> subprocess.CompletedProcess:
    """playbooks/rollback.yml on the finished run, for ``limit``."""
    return subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", rollout.lab.inventory,
                           str(ROOT / "playbooks" / "rollback.yml"), "--limit", limit,
                           "-e", f"patchpilot_run_id={run_dir.name}", "-e", f"patchpilot_run_base={rollout.runs}"],
                          cwd=rollout.folder, env=ansible_env(), capture_output=True, text=True, timeout=900,
                          check=False)


def test_a_finished_run_is_rolled_back_later_and_a_gone_archive_changes_nothing(lab, interrupted_run):
    """After the interrupted run's other tests (they read its hosts patched): app01 is rolled back
    later to the run's baseline; db01, its kept packages removed (as retention would), is not."""
    rollout, seen = interrupted_run
    run_dir = seen["run_dir"]
    assert rollout.read(run_dir / "run.json")["state"] == "completed"
    # db01: the kept packages gone from its cache and from the run's archive
    lab.ssh(lab.host("db01"), f"sudo rm -rf /var/cache/patchpilot/runs/{run_dir.name}")
    shutil.rmtree(run_dir / "archive" / "db01" / "rollback")
    db_before, db_record = dpkg(lab, "db01"), rollout.host_record(run_dir, "db01")

    proc = rollback_later(rollout, run_dir, "app01,db01")
    out = " ".join(proc.stdout.split())
    assert proc.returncode != 0, explain(proc)  # db01 fails: its material is gone
    assert "db01, run" in out and "cannot roll back: gone" in out and "Nothing was changed" in out, explain(proc)
    assert f"left: package archive {run_dir}/archive/db01/rollback (none of the kept packages)" in out, explain(proc)
    assert dpkg(lab, "db01") == db_before and rollout.host_record(run_dir, "db01") == db_record

    snapshot = rollout.read(run_dir / "archive" / "app01" / "snapshot.json")
    baseline, entry = snapshot["packages"], plan_of(run_dir)["app01"]
    planned = [p["name"] for p in entry["packages"]]
    assert planned, "app01 had nothing patched: the test proves nothing"
    now = dpkg(lab, "app01")
    assert {n: now.get(n) for n in planned} == {n: baseline.get(n) for n in planned}, (now, baseline)
    assert not set(now) - set(baseline), f"packages the run added are still there: {set(now) - set(baseline)}"
    record = rollout.host_record(run_dir, "app01")
    assert record["phase"] == "rolled_back"
    detail = record["history"][-1]["detail"]
    assert detail["later"] is True and detail["versions_restored"] is True and detail["healthy"] is True, detail
    assert detail["by"]["user"] and detail["source"] == "the host's cache", detail
    # app01's local fact now says so; db01's still says the run left it done
    fact = json.loads(lab.ssh(lab.host("app01"), "cat /etc/ansible/facts.d/patchpilot.fact").stdout)
    assert (fact["run_id"], fact["result"], fact["at"]) == (run_dir.name, "rolled_back", record["history"][-1]["at"])
    fact = json.loads(lab.ssh(lab.host("db01"), "cat /etc/ansible/facts.d/patchpilot.fact").stdout)
    assert (fact["run_id"], fact["result"]) == (run_dir.name, "done"), fact

    proc = rollback_later(rollout, run_dir, "app01")  # once rolled back, refused
    assert proc.returncode != 0 and "app01 was rolled back already" in proc.stdout, explain(proc)


def test_a_failing_pre_wave_hook_keeps_the_wave_from_starting(lab, tmp_path, http_server):
    """A pre-wave controller hook that fails: the wave does not start, its host is untouched."""
    lab.reset("web01")
    try:
        rollout = Rollout(lab, tmp_path)
        before, log_lines = dpkg(lab, "web01"), dpkg_log_lines(lab, "web01")
        rules = policy(rollout={"canary": None, "waves": ["rest"], "anti_affinity": []},
                       hooks={"pre_wave": [{"name": "check the pool has room", "on": "controller",
                                            "command": ["sh", "-c", "echo pool full >&2; exit 4"]}],
                              "pre_host": [{"name": "drain", "url": http_server.url + "/drain/{host}"}]},
                       notifications=[{"type": "webhook", "target": http_server.url + "/events"}])
        rules["rollout"].pop("canary")
        proc = rollout.run(rules, limit="web01")
        assert proc.returncode != 0, explain(proc)
        run_dir = rollout.last()
        assert plan_of(run_dir)["web01"]["packages"], "web01 had nothing to patch: the test proves nothing"
        wave = plan_of(run_dir)["web01"]["wave"]
        assert (f'wave {wave} (web01) does not start: hook "check the pool has room" (pre_wave) failed on web01: '
                "exit status 4: pool full") in " ".join(proc.stdout.split()), explain(proc)
        assert [h["phase"] for h in rollout.host_record(run_dir, "web01")["history"]][-1] == "staged"
        # the host is untouched: its packages, dpkg's log, no pre-host hook, no wave event
        assert dpkg(lab, "web01") == before
        assert dpkg_log_lines(lab, "web01") == log_lines, "dpkg ran on web01"
        assert [r.path for r in http_server.requests] == ["/events", "/events"], http_server.requests
        assert [r.json()["event"] for r in http_server.requests] == ["start", "done"]
    finally:
        lab.reset("web01")


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
    units = lab_units(lab)
    states = subprocess.run(["podman", "exec", SMALL_VAR, "systemctl", "is-active", *units],
                            capture_output=True, text=True, check=False).stdout.split()
    assert dict(zip(units, states)) == dict.fromkeys(units, "active")
