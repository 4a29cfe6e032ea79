"""A plain clone scans the lab as AWX would run the project: no ./dev, no ansible.cfg, cwd elsewhere.

The committed tree is cloned (tests/support/clone.py) and ``ansible-playbook -i <lab
inventory> <clone>/playbooks/scan.yml`` runs in a clean environment (``env -i`` with the
venv's PATH and a HOME of its own). The lab inventory (the patchpilot.fleet.assets plugin,
its ssh settings and known_hosts in its host_vars) and the scan's modules resolve through
the clone's playbook-adjacent ``playbooks/collections`` alone. One scan, about 5 s.
"""

from __future__ import annotations

import json

import pytest

from support.clone import make_clone

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def clone_scan(lab, tmp_path_factory):
    clone = make_clone(tmp_path_factory.mktemp("checkout-lab"))
    reports = clone.cwd / "reports"
    proc = clone.playbook("scan.yml", "-i", lab.inventory, "-e", f"patchpilot_report_dir={reports}")
    return clone, reports, proc


def report(reports, name):
    """A scan report file: in the report directory, or in its scan/ folder (reports root)."""
    found = sorted(reports.glob(name)) + sorted(reports.glob(f"*/{name}"))
    assert len(found) == 1, f"{name}: {found} under {reports}"
    return json.loads(found[0].read_text(encoding="utf-8"))


def test_nothing_but_the_clone_makes_the_collection_resolvable(clone_scan):
    clone, _, _ = clone_scan
    proc = clone.run("ansible-doc", "-t", "module", "patchpilot.fleet.asset_facts")
    # ansible-doc has no playbook next to it: only an installed collection would be found
    assert "patchpilot.fleet.asset_facts was not found" in proc.stderr, proc.stdout + proc.stderr


def test_the_clone_scans_every_lab_host(clone_scan, lab):
    _, reports, proc = clone_scan
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert "couldn't resolve" not in out
    assets = {asset["host"]: asset for asset in report(reports, "assets.json")["assets"]}
    assert set(assets) == {host["name"] for host in lab.hosts}
    for host in lab.hosts:
        asset = assets[host["name"]]
        assert asset["status"] == "scanned", asset
        # gathered on the host itself: its MAC address and release are the lab's
        assert (asset["mac_address"], asset["os_version"]) == (host["mac"], host["release"])
    updates = report(reports, "updates.json")["updates"]
    for host in lab.hosts:
        names = {row["name"] for row in updates if row["host"] == host["name"]}
        assert ("pprpm-seclib" if host["role"] == "rpm" else "pplab-seclib") in names, (host["name"], names)


def test_the_clean_run_says_once_that_results_are_not_yaml(clone_scan):
    _, _, proc = clone_scan
    assert (proc.stdout + proc.stderr).count("results are printed as json, not YAML") == 1
