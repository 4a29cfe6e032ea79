"""The verify role on real lab hosts: a baseline, a real fault, and the comparison naming it.

Each test takes the baseline (``tasks_from: baseline``, written to the host's
archive folder under tmp_path), breaks something real on the host (a fault
package from the lab repository's ``faults`` component, a stopped service, a
reboot), then runs the role's ``main`` in a second playbook, so the baseline is
read back from ``baseline.json`` as on a rerun. The result is read from the
``verify.json`` the role wrote. Hosts a test changes are reset afterwards.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from labkit import ROOT, run_molecule

pytestmark = pytest.mark.lab

PLAYBOOK = """\
- name: Verify one lab host
  hosts: "{host}"
  gather_facts: false
  become: true
  tasks:
    - name: Run the verify role ({tasks_from})
      ansible.builtin.include_role:
        name: patchpilot.fleet.verify
        tasks_from: "{tasks_from}"
"""

BOTH = PLAYBOOK + """\
    - name: Then compare at once, with the baseline fact
      ansible.builtin.include_role:
        name: patchpilot.fleet.verify
"""

# The lab's hosts see the machine's load, which other suites running at the same
# time drive up: the load check gets room so that it never decides these tests.
FAST = {"verify_settle_seconds": 1, "verify_retries": 1, "verify_delay": 1, "verify_load_factor": 10.0}


def debian_hosts(lab) -> list[dict]:
    return [h for h in lab.hosts if h.get("role") != "rpm"]


def run(lab, host, tmp_path, tasks_from: str, variables: dict | None = None, template: str = PLAYBOOK):
    archive = tmp_path / "archive" / host["name"]
    playbook = tmp_path / f"verify-{tasks_from}.yml"
    playbook.write_text(template.format(host=host["name"], tasks_from=tasks_from), encoding="utf-8")
    extra = tmp_path / f"vars-{tasks_from}.json"
    extra.write_text(json.dumps({"verify_archive_dir": str(archive), **FAST, **(variables or {})}), encoding="utf-8")
    if tasks_from == "main":
        (archive / "verify.json").unlink(missing_ok=True)
    proc = lab.playbook(str(playbook), "-e", f"@{extra}", check=False, timeout=600)
    return proc, archive


def baseline(lab, host, tmp_path) -> dict:
    proc, archive = run(lab, host, tmp_path, "baseline")
    assert proc.returncode == 0, proc.stdout[-5000:]
    data = json.loads((archive / "baseline.json").read_text(encoding="utf-8"))
    assert data["host"] == host["name"]
    return data


def verify(lab, host, tmp_path, variables: dict | None = None):
    proc, archive = run(lab, host, tmp_path, "main", variables)
    path = archive / "verify.json"
    assert path.exists(), f"no verify.json written:\n{proc.stdout[-5000:]}"
    return proc, json.loads(path.read_text(encoding="utf-8"))


def assert_failed(proc, result, host, expected: set[str]) -> None:
    assert proc.returncode != 0, proc.stdout[-4000:]
    assert result["passed"] is False
    assert set(result["failed_checks"]) == expected, result
    flat = " ".join(proc.stdout.split())
    for name in expected:
        assert result["checks"][name]["ok"] is False
        assert re.search(rf"verify failed on {host['name']}: .*{re.escape(name)}: ", flat), proc.stdout[-4000:]
    # Only one failure: the role fails once, at the end.
    assert len(re.findall(r"^fatal: ", proc.stdout, re.MULTILINE)) == 1, proc.stdout[-4000:]


def assert_passed(proc, result) -> None:
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert result["passed"] is True and result["failed_checks"] == [], result
    assert all(check["ok"] for check in result["checks"].values()), result


def enable_faults(lab, host) -> None:
    lab.ssh(host, "sudo sed -i 's/ lab main$/ lab main faults/' /etc/apt/sources.list.d/patchpilot-lab.list"
                  " && sudo apt-get update -q", timeout=300)


def install(lab, host, package: str) -> None:
    lab.ssh(host, f"sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q {package}", timeout=300)


def test_no_change_passes_with_the_baseline_fact(lab, tmp_path):
    host = debian_hosts(lab)[0]
    proc, archive = run(lab, host, tmp_path, "baseline", template=BOTH)
    assert proc.returncode == 0, proc.stdout[-5000:]
    base = json.loads((archive / "baseline.json").read_text(encoding="utf-8"))
    result = json.loads((archive / "verify.json").read_text(encoding="utf-8"))
    assert_passed(proc, result)
    assert "pplab-web.service" in base["services_running"] and "ssh.service" in base["services_running"]
    assert {"tcp/22", "tcp/8080", "tcp/8081", "tcp/8082", "tcp/8083"} <= set(base["ports"])
    assert base["pid1_start"] == int(lab.ssh(host, "cut -d' ' -f22 /proc/1/stat").stdout)
    assert set(result["checks"]) == {"services", "ports", "failed_units", "journal", "load", "memory", "reboot"}
    assert result["rebooted"] is False and result["checks"]["journal"]["since"] == "cursor"
    assert result["checks"]["services"]["expected"] >= 6
    assert oct((archive / "baseline.json").stat().st_mode & 0o777) == "0o640"
    assert oct(archive.stat().st_mode & 0o777) == "0o750"


def test_a_port_no_longer_listening_fails_ports(lab, tmp_path):
    host = debian_hosts(lab)[1]
    try:
        enable_faults(lab, host)
        base = baseline(lab, host, tmp_path)
        assert "tcp/8082" in base["ports"]
        install(lab, host, "pplab-fault-port")
        assert lab.ssh(host, "systemctl is-active pplab-fault-port").stdout.strip() == "active"
        proc, result = verify(lab, host, tmp_path)
        assert_failed(proc, result, host, {"ports"})
        assert result["checks"]["ports"]["missing"] == ["tcp/8082"]
        assert "ports: no longer listening: tcp/8082" in result["checks"]["ports"]["message"]
        # The service still runs: only its port regressed.
        assert result["checks"]["services"]["ok"] is True
    finally:
        lab.reset(host["name"])


def test_a_service_that_no_longer_starts_is_a_new_failed_unit(lab, tmp_path):
    host = debian_hosts(lab)[2]
    try:
        enable_faults(lab, host)
        baseline(lab, host, tmp_path)
        install(lab, host, "pplab-fault-crash")
        assert lab.ssh(host, "systemctl is-failed pplab-fault-crash", check=False).stdout.strip() == "failed"
        proc, result = verify(lab, host, tmp_path)
        assert_failed(proc, result, host, {"services", "ports", "failed_units"})
        assert result["checks"]["failed_units"]["new"] == ["pplab-fault-crash.service"]
        assert result["checks"]["services"]["missing"] == ["pplab-fault-crash.service"]
        assert result["checks"]["ports"]["missing"] == ["tcp/8081"]
        # Its one error line is in the journal, below the limit.
        assert result["checks"]["journal"]["ok"] is True and result["checks"]["journal"]["errors"] >= 1
    finally:
        lab.reset(host["name"])


def test_a_transient_unit_that_fails_is_named(lab, tmp_path):
    host = debian_hosts(lab)[0]
    try:
        baseline(lab, host, tmp_path)
        lab.ssh(host, "sudo systemd-run --unit pp-verify-broken false; sleep 1")
        proc, result = verify(lab, host, tmp_path)
        assert_failed(proc, result, host, {"failed_units"})
        assert result["checks"]["failed_units"]["new"] == ["pp-verify-broken.service"]
        # Ignored by pattern, it passes.
        proc, result = verify(lab, host, tmp_path, {"verify_failed_units_ignore": ["pp-verify-*"]})
        assert_passed(proc, result)
    finally:
        lab.ssh(host, "sudo systemctl reset-failed pp-verify-broken.service", check=False)


def test_a_journal_error_burst_fails_journal(lab, tmp_path):
    host = debian_hosts(lab)[1]
    try:
        enable_faults(lab, host)
        baseline(lab, host, tmp_path)
        install(lab, host, "pplab-fault-noisy")
        time.sleep(3)  # 20 error lines a second
        proc, result = verify(lab, host, tmp_path)
        assert_failed(proc, result, host, {"journal"})
        journal = result["checks"]["journal"]
        assert journal["errors"] > 20 and journal["max"] == 20
        assert journal["sample"] and "pplab-fault-noisy" in journal["sample"][-1]
        # The service still serves its port; only the journal regressed.
        assert result["checks"]["ports"]["ok"] and result["checks"]["services"]["ok"]
    finally:
        lab.reset(host["name"])


def test_logger_errors_counted_against_the_limit(lab, tmp_path):
    """A burst of errors from a unit of the test's own, counted with the journal limited to that unit.

    The host's other units write errors of their own at any time (sshd, answering the
    test's connections); counted host-wide, they would be in the count and the sample.
    The burst goes through the unit's stdout stream, which journald tags with the unit
    when the stream opens (a short-lived logger process may be gone before it is tagged).
    """
    host = debian_hosts(lab)[0]
    unit = "pp-verify-burst.service"
    baseline(lab, host, tmp_path)
    lab.ssh(host, f"sudo systemd-run --quiet --wait --collect --unit={unit} -p StandardOutput=journal "
                  "sh -c 'for i in $(seq 1 8); do echo \"<3>burst $i\"; done'")
    proc, result = verify(lab, host, tmp_path, {"verify_journal_errors_max": 3, "verify_journal_units": [unit]})
    assert_failed(proc, result, host, {"journal"})
    assert result["checks"]["journal"]["errors"] == 8
    assert result["checks"]["journal"]["sample"] == [f"{unit}: burst {i}" for i in range(4, 9)]


def test_custom_http_check_from_the_host(lab, tmp_path):
    host = debian_hosts(lab)[2]
    checks = {"verify_http_checks": [{"url": "http://127.0.0.1:8080/", "status": 200, "timeout": 5, "name": "web"}]}
    try:
        baseline(lab, host, tmp_path)
        proc, result = verify(lab, host, tmp_path, checks)
        assert_passed(proc, result)
        assert result["checks"]["http:web"]["status"] == 200
        lab.ssh(host, "sudo systemctl stop pplab-web")
        proc, result = verify(lab, host, tmp_path, checks)
        assert_failed(proc, result, host, {"services", "ports", "http:web"})
        assert result["checks"]["http:web"]["status"] == -1
        assert "http:web: GET http://127.0.0.1:8080/ answered nothing, expected 200" in \
            result["checks"]["http:web"]["message"]
        # A different expected status passes once it is what the host sees.
        lab.ssh(host, "sudo systemctl start pplab-web")
        proc, result = verify(lab, host, tmp_path, {"verify_http_checks": [
            {"url": "http://127.0.0.1:8080/missing", "status": 404}]})
        assert_passed(proc, result)
        assert result["checks"]["http:http://127.0.0.1:8080/missing"]["status"] == 404
    finally:
        lab.ssh(host, "sudo systemctl start pplab-web", check=False)


def test_custom_command_check_on_the_host(lab, tmp_path):
    host = debian_hosts(lab)[0]
    marker = "/var/tmp/pp-verify-marker"
    checks = {"verify_command_checks": [{"command": ["test", "-e", marker], "name": "marker"},
                                        {"command": "systemctl is-active pplab-web"}]}
    lab.ssh(host, f"sudo touch {marker}")
    try:
        baseline(lab, host, tmp_path)
        proc, result = verify(lab, host, tmp_path, checks)
        assert_passed(proc, result)
        assert result["checks"]["command:systemctl is-active pplab-web"]["stdout"] == "active"
        lab.ssh(host, f"sudo rm -f {marker}")
        proc, result = verify(lab, host, tmp_path, checks)
        assert_failed(proc, result, host, {"command:marker"})
        assert result["checks"]["command:marker"]["rc"] == 1
        assert "command:marker: exited 1, expected 0" in result["checks"]["command:marker"]["message"]
    finally:
        lab.ssh(host, f"sudo rm -f {marker}", check=False)


def test_a_load_above_its_limit_fails_load(lab, tmp_path):
    """The limit set below what the host measures, instead of loading the machine the other suites share.

    0.001 x max(baseline load, CPU count) rounds to 0.00 or 0.01: any machine running a playbook is above it.
    """
    host = debian_hosts(lab)[2]
    baseline(lab, host, tmp_path)
    proc, result = verify(lab, host, tmp_path, {"verify_load_factor": 0.001})
    assert_failed(proc, result, host, {"load"})
    load = result["checks"]["load"]
    assert load["limit"] <= 0.01 < load["load1"], load
    assert f"load: 1-minute load {load['load1']} above the limit {load['limit']} (0.001 x max(baseline" in \
        " ".join(load["message"].split()), load


def test_memory_below_its_minimum_fails_memory(lab, tmp_path):
    """A factor below 1 asks for more MemAvailable than the baseline had: a minimum the host cannot meet."""
    host = debian_hosts(lab)[0]
    base = baseline(lab, host, tmp_path)
    proc, result = verify(lab, host, tmp_path, {"verify_memory_factor": 0.01})
    assert_failed(proc, result, host, {"memory"})
    memory = result["checks"]["memory"]
    assert memory["minimum_kb"] == round(base["mem_available_kb"] / 0.01) > base["mem_total_kb"], memory
    assert memory["available_kb"] < memory["minimum_kb"], memory
    assert " below the minimum " in " ".join(memory["message"].split()), memory


def wait_for_ssh(lab, host, old_start: str, timeout: int = 180) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        proc = lab.ssh(host, "cut -d' ' -f22 /proc/1/stat && systemctl is-system-running --wait", check=False,
                       timeout=60)
        lines = proc.stdout.split()
        if proc.returncode == 0 and lines and lines[0] != old_start:
            return lines[0]
        time.sleep(2)
    raise AssertionError(f"{host['name']} did not come back within {timeout} s")


def test_an_unexpected_reboot_is_flagged_and_an_expected_one_accepted(lab, tmp_path):
    host = debian_hosts(lab)[1]
    base = baseline(lab, host, tmp_path)
    lab.ssh(host, "sudo systemctl reboot", check=False)
    wait_for_ssh(lab, host, str(base["pid1_start"]))
    proc, result = verify(lab, host, tmp_path, {"verify_retries": 6, "verify_delay": 5})
    assert_failed(proc, result, host, {"reboot"})
    assert result["rebooted"] is True
    assert "the host rebooted unexpectedly since the baseline" in result["checks"]["reboot"]["message"]
    proc, result = verify(lab, host, tmp_path, {"verify_expect_reboot": True})
    assert_passed(proc, result)
    assert result["checks"]["reboot"] == {**result["checks"]["reboot"], "rebooted": True, "expected": True,
                                          "message": "reboot: rebooted, as expected"}


def test_bad_input_and_a_missing_baseline_give_clear_errors(lab, tmp_path):
    host = debian_hosts(lab)[0]
    proc, _ = run(lab, host, tmp_path, "main")
    assert proc.returncode != 0
    flat = " ".join(proc.stdout.split())
    assert f"verify: no baseline for {host['name']}" in flat and "tasks_from: baseline" in flat, flat[-3000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    baseline(lab, host, tmp_path)
    proc, _ = run(lab, host, tmp_path, "main", {"verify_ports": ["http"]})
    assert proc.returncode != 0
    assert "verify_ports: http is not a port" in " ".join(proc.stdout.split()), proc.stdout[-3000:]
    proc, _ = run(lab, host, tmp_path, "main", {"verify_http_checks": [{"status": 200}]})
    assert proc.returncode != 0 and "verify_http_checks" in proc.stdout, proc.stdout[-3000:]


def test_molecule_scenario_of_the_role(lab):
    """roles/verify/molecule/default: a passing comparison, then a stopped service detected."""
    code, out = run_molecule(ROOT / "roles" / "verify")
    assert code == 0, f"molecule test failed ({code}):\n{out[-6000:]}"
    for step in ("idempotence", "verify"):
        assert re.search(rf"^\s*default \S+ {step}: Executed: Successful\s*$", out, re.MULTILINE), out[-6000:]
    flat = " ".join(out.split())
    for platform in ("debian12", "debian13"):
        assert f"pp-molecule-verify-{platform}: verify passed every check" in flat, out[-6000:]
        assert f"pp-molecule-verify-{platform}: the stopped pplab-web was named by services, ports and http:web" \
            in flat, out[-6000:]
