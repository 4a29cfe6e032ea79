"""The scan ranks with the policy's priority section, as the plan does (playbooks/scan.yml, patchpilot_policy).

With the defaults, the security update on db01 (criticality high, confidential data) comes
before the same update on web01 (medium, public, on the internet): tests/lab/test_scan.py shows
it. A policy weighing internet exposure heavily turns that order round. One scan of two hosts.
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.lab

POLICY = """\
version: 2
reboot: never
priority:
  weights:
    internet_exposed: 40
"""


def test_a_policy_weight_reorders_the_scan(lab, tmp_path):
    names = {h["name"] for h in lab.hosts}
    assert {"web01", "db01"} <= names
    policy = tmp_path / "policy.yml"
    policy.write_text(POLICY, encoding="utf-8")
    report = tmp_path / "report"
    proc = lab.playbook("playbooks/scan.yml", "--limit", "web01,db01",
                        "-e", f"patchpilot_report_dir={report}", "-e", f"patchpilot_policy={policy}", check=False)
    assert proc.returncode == 0, proc.stdout[-4000:]
    updates = json.loads((report / "scan" / "updates.json").read_text(encoding="utf-8"))["updates"]
    seclib = [u for u in updates if u["name"] == "pplab-seclib"]
    assert [u["host"] for u in seclib] == ["web01", "db01"], seclib
    web, db = seclib
    # web01: high 30 + security 10 + medium 8 + exposed 40 + public 0; db01: 30 + 10 + high 15 + confidential 10
    assert (web["score"], db["score"]) == (88.0, 65.0), seclib
