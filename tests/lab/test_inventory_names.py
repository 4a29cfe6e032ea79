"""ansible-inventory refuses a CMDB that names a host all, localhost or managed (issue #10), with file and line.

Needs no lab: only ansible-inventory over files in a temporary directory.
"""

from __future__ import annotations

import os
import subprocess

import pytest
import yaml

from labkit import ROOT, VENV_BIN

CMDB = "hostname,ip_address,ansible_port,role\nweb01,10.0.0.1,2201,web\ndb01,10.0.0.2,2202,db\n"


def ansible_inventory(config) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="1")
    return subprocess.run([str(VENV_BIN / "ansible-inventory"), "-i", str(config), "--list"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize(("row", "keyed", "reason"), [
    ("all,10.9.9.9,22,app", False, "hostname: 'all' is the group Ansible makes of every host"),
    ("localhost,10.9.9.9,22,app", False, "hostname: 'localhost' is Ansible's own name for the controller"),
    ("managed,10.9.9.9,22,app", False, "hostname: 'managed' is the group of CMDB hosts"),
    ("role_web,10.9.9.9,22,app", True, "hostname role_web is also a group made by keyed_groups or groups"),
])
def test_ansible_inventory_refuses_a_host_named_like_a_group(tmp_path, row, keyed, reason):
    (tmp_path / "cmdb.csv").write_text(CMDB + row + "\n", encoding="utf-8")
    config = {"plugin": "patchpilot.fleet.assets", "cmdb": "cmdb.csv"}
    if keyed:
        config["keyed_groups"] = [{"key": "patchpilot_asset.role", "prefix": "role"}]
    (tmp_path / "fleet.assets.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    proc = ansible_inventory(tmp_path / "fleet.assets.yml")
    assert proc.returncode != 0
    assert "%s:4: %s" % (tmp_path / "cmdb.csv", reason) in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "10.9.9.9" not in proc.stdout
