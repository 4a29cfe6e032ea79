"""Real mode (opt-in, ``-m real``): bookworm hosts with Debian's real security suite.

Deselected by default: it reaches Debian's mirrors (the one exception to the
lab's no-outside-mirror rule) and its pending set moves every day.
Run it with ``./dev test -m real tests/lab/test_real.py``.
"""

from __future__ import annotations

import json
import re

import pytest

from labkit import ROOT, Lab, lab_env, run_lab

pytestmark = [pytest.mark.lab, pytest.mark.real]

REAL_ENV = {"LAB_PREFIX": "ppreal", "LAB_REAL": "1", "LAB_HOSTS": "2", "LAB_RPM_HOSTS": "0",
            "LAB_SSH_PORT_BASE": "3200", "LAB_SUBNET": "10.213.8.0/24"}


@pytest.fixture(scope="module")
def real_lab():
    env = lab_env(**REAL_ENV)
    proc = run_lab("up", env=env)
    assert proc.returncode == 0, proc.stderr
    state = json.loads((ROOT / ".lab" / "ppreal" / "state.json").read_text(encoding="utf-8"))
    yield Lab(state=state, hosts=state["hosts"])
    run_lab("down", env=env)


def test_real_hosts_have_real_security_updates(real_lab):
    for host in real_lab.hosts:
        assert host["release"] == "12"
        real_lab.ssh(host, "sudo apt-get update -q")
        out = real_lab.ssh(host, "LANG=C apt-get -s dist-upgrade").stdout
        security = [ln for ln in out.splitlines()
                    if ln.startswith("Inst ") and re.search(r"Debian-Security:12/\S*-security", ln)]
        assert security, f"{host['name']}: no pending Debian security update:\n{out}"
        # The lab's own repository is still there beside Debian's.
        assert "Patchpilot Lab-Security:lab-security" in out


def test_real_security_updates_name_their_cves_from_the_packages_changelogs(real_lab, tmp_path):
    # Debian's security suite publishes no Changelogs: field: the changelogs come out of the .debs.
    proc = real_lab.playbook("playbooks/scan.yml", "-e", f"patchpilot_report_dir={tmp_path / 'report'}",
                             "-e", f"patchpilot_changelog_cache={tmp_path / 'changelogs'}", check=False)
    assert proc.returncode == 0, proc.stdout[-4000:]
    report = next((tmp_path / "report").rglob("updates.json"))
    updates = json.loads(report.read_text(encoding="utf-8"))["updates"]
    security = [u for u in updates if u["backend"] == "apt" and u["classification"] == "security"
                and u["source"]["origin"] == "Debian"]
    assert security
    with_cves = [u for u in security if u["cves"]]
    assert with_cves, [(u["name"], u["changelog"]) for u in security]
    assert all(u["changelog"]["origin"].startswith("deb:") for u in with_cves)
    assert all(re.match(r"\d{4}-\d{2}-\d{2}$", u["released"] or "") for u in security)
    print("\n".join(f"{u['host']} {u['name']} {u['candidate_version']}: {' '.join(u['cves'][:6])}"
                    f" (urgency {u['changelog']['urgency']}, released {u['released']})" for u in with_cves[:12]))
