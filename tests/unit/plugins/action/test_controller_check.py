"""controller_check action: the verdict reaches the task result (failed + msg, warnings), arguments are checked."""

from __future__ import annotations

from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleActionFail
from ansible.playbook.task import Task

from ansible_collections.patchpilot.fleet.plugins.action import controller_check


def run(**args):
    task = Task.load({"action": "patchpilot.fleet.controller_check", "args": args})
    plugin = controller_check.ActionModule(task, MagicMock(), MagicMock(), loader=None, templar=None,
                                           shared_loader_obj=None)
    return plugin.run(task_vars={"inventory_hostname": "localhost"})


def test_an_empty_inventory_fails_the_task_with_the_reason():
    result = run(inventory_sources=["/tmp/broken.yml"], host_sources=[])
    assert result["failed"] is True
    assert result["msg"].startswith("the inventory (/tmp/broken.yml) gave no hosts")


def test_a_good_setup_passes_with_the_output_format_warning():
    result = run(inventory_sources=["/i.yml"], host_sources=["/i.yml"], result_format="json")
    assert not result.get("failed")
    assert result["changed"] is False and result["errors"] == []
    assert [w.split(":")[0] for w in result["warnings"]] == ["results are printed as json, not YAML"]


def test_close_run_by_id_needs_no_hosts_and_operators_may_allow_what_they_mean():
    result = run(inventory_sources=["/etc/ansible/hosts"], host_sources=[], hosts_required=False,
                 host_key_checking=False, allow_host_key_checking_off=True)
    assert not result.get("failed"), result


def test_bad_arguments_are_one_message():
    with pytest.raises(AnsibleActionFail, match="host_key_checking"):
        run(inventory_sources=["/i.yml"], host_sources=["/i.yml"], host_key_checking="perhaps")
