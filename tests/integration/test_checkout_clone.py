"""A plain clone checks what its playbooks rely on when no ansible.cfg is read (controller only, no host contacted).

From a fresh clone of the committed tree (tests/support/clone.py: no ./dev, no
ANSIBLE_CONFIG, cwd outside the clone) the entry playbooks resolve patchpilot.fleet
through playbooks/collections, and their first play (playbooks/controller_check.yml)
stops a run that Ansible's defaults would let go on: an unparsable inventory (without the
repository's any_unparsed_is_failed every play would be skipped and the run exit 0), host
key checking turned off. The lab test tests/lab/test_checkout.py runs the scan for real.
"""

from __future__ import annotations

import pytest

from support.clone import make_clone

pytestmark = pytest.mark.slow

BROKEN = "web1: [this is not an inventory\n"


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    return make_clone(tmp_path_factory.mktemp("checkout"))


def test_the_clone_carries_the_link_and_no_ansible_cfg_is_read(clone):
    link = clone.path / "playbooks" / "collections" / "ansible_collections" / "patchpilot" / "fleet"
    assert link.is_symlink() and link.resolve() == clone.path.resolve()
    proc = clone.run("ansible-config", "dump", "--only-changed")
    assert proc.returncode == 0 and "CONFIG_FILE() = None" in proc.stdout, proc.stdout + proc.stderr


def test_an_unparsable_inventory_stops_the_scan_with_the_reason(clone):
    inventory = clone.cwd / "broken.yml"
    inventory.write_text(BROKEN, encoding="utf-8")
    proc = clone.playbook("scan.yml", "-i", str(inventory), "-e", f"patchpilot_report_dir={clone.cwd / 'reports'}")
    out = proc.stdout + proc.stderr
    assert "couldn't resolve" not in out, out
    assert proc.returncode == 2, out
    assert f"the inventory ({inventory}) gave no hosts: a source could not be parsed" in out, out
    assert "PLAY [Scan every host]" not in out, out  # stopped before any other play
    assert not (clone.cwd / "reports").exists()


def test_a_source_without_hosts_beside_a_good_one_stops_the_plan(clone):
    good, broken = clone.cwd / "good.ini", clone.cwd / "broken.yml"
    good.write_text("web1 ansible_host=127.0.0.1\n", encoding="utf-8")
    broken.write_text(BROKEN, encoding="utf-8")
    proc = clone.playbook("plan.yml", "-i", str(good), "-i", str(broken),
                          "-e", f"patchpilot_policy={clone.path / 'examples' / 'policy.yml'}")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert f"inventory source {broken} gave no hosts of its own" in out, out
    assert "PLAY [Check the policy before any host is contacted]" not in out, out


def test_host_key_checking_off_stops_the_run_unless_the_operator_says_so(clone):
    inventory = clone.cwd / "hosts.ini"
    inventory.write_text("web1 ansible_host=127.0.0.1 ansible_port=9\n", encoding="utf-8")
    env_off = {"ANSIBLE_HOST_KEY_CHECKING": "False"}
    proc = clone.playbook("pending.yml", "-i", str(inventory), env=env_off)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2 and "host key checking is off" in out, out
    assert "PLAY [Show the pending updates of each host]" not in out, out
    allowed = clone.playbook("pending.yml", "-i", str(inventory), "-e", "patchpilot_allow_host_key_checking_off=true",
                             env=env_off)
    out = allowed.stdout + allowed.stderr
    # allowed: the check passes and the play goes on to the host (unreachable: nothing listens on port 9)
    assert "host key checking is off" not in out and "PLAY [Show the pending updates of each host]" in out, out


def test_results_not_in_yaml_are_said_once_even_when_imported_twice(clone):
    # emergency.yml imports the check, then patch.yml, which imports it again (skipped); the policy check fails after
    proc = clone.playbook("emergency.yml", "-i", "web1,", "-e", "patchpilot_emergency_package=x",
                          "-e", "patchpilot_policy=/nonexistent/policy.yml", "--limit", "web1")
    out = proc.stdout + proc.stderr
    assert out.count("results are printed as json, not YAML") == 1, out
    assert out.count("TASK [Check the inventory, host key checking and the output format]") == 2, out


def test_the_installed_collection_checks_too(clone):
    """Built from the clone and installed from its tarball: ``ansible-playbook patchpilot.fleet.scan`` stops the same way."""
    built, installed = clone.cwd / "built", clone.cwd / "installed"
    proc = clone.run("ansible-galaxy", "collection", "build", "--output-path", str(built), str(clone.path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    tarball = next(built.glob("patchpilot-fleet-*.tar.gz"))
    proc = clone.run("ansible-galaxy", "collection", "install", "--offline", "--no-deps", "-p", str(installed), str(tarball))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (installed / "ansible_collections" / "patchpilot" / "fleet" / "playbooks" / "collections").exists()
    inventory = clone.cwd / "broken-installed.yml"
    inventory.write_text(BROKEN, encoding="utf-8")
    proc = clone.run("ansible-playbook", "-i", str(inventory), "patchpilot.fleet.scan",
                     env={"ANSIBLE_COLLECTIONS_PATH": str(installed)})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert f"the inventory ({inventory}) gave no hosts" in out, out
