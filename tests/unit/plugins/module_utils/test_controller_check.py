"""The controller check before every entry playbook: empty inventories, sources without hosts, host keys, output format."""

from __future__ import annotations

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.controller_check import (
    controller_verdict,
    sources_without_hosts,
)

GOOD = {"sources": ["/etc/patchpilot/hosts.yml"], "host_sources": ["/etc/patchpilot/hosts.yml"] * 2,
        "host_key_checking": True, "result_format": "yaml"}


def verdict(**changes):
    return controller_verdict(**dict(GOOD, **changes))


def test_a_good_setup_passes_silently():
    assert verdict() == {"ok": True, "errors": [], "warnings": [], "msg": ""}


@pytest.mark.parametrize("sources", [["/tmp/broken.yml"], ["/etc/ansible/hosts"], []])
def test_an_inventory_without_hosts_fails_and_names_its_sources(sources):
    result = verdict(sources=sources, host_sources=[])
    assert not result["ok"]
    assert result["msg"].startswith(f"the inventory ({', '.join(sources) or 'none'}) gave no hosts")
    assert result["errors"] == [result["msg"]]


def test_an_inventory_without_hosts_fails_even_when_ansible_fails_on_unparsed_sources():
    # an inventory that parsed but is empty: Ansible does not fail on it, the run would do nothing
    result = verdict(host_sources=[], any_unparsed_is_failed=True, allow_sources_without_hosts=True)
    assert not result["ok"] and "gave no hosts" in result["msg"]


def test_no_hosts_is_allowed_when_the_run_needs_none():
    assert verdict(sources=["/etc/ansible/hosts"], host_sources=[], hosts_required=False)["ok"]


def test_a_source_that_gave_no_hosts_fails_by_name():
    result = verdict(sources=["/inv/good.yml", "/inv/broken.yml"], host_sources=["/inv/good.yml"])
    assert not result["ok"]
    assert result["msg"].startswith("inventory source /inv/broken.yml gave no hosts of its own")
    assert "patchpilot_allow_sources_without_hosts=true" in result["msg"]


@pytest.mark.parametrize("changes", [
    {"any_unparsed_is_failed": True},  # Ansible itself fails on a source it cannot parse
    {"any_unparsed_is_failed": "True"},
    {"allow_sources_without_hosts": True},
    {"allow_sources_without_hosts": "true"},
])
def test_a_source_without_hosts_passes_when_ansible_checks_or_the_operator_allows(changes):
    assert verdict(sources=["/inv/good.yml", "/inv/dup.yml"], host_sources=["/inv/good.yml"], **changes)["ok"]


@pytest.mark.parametrize(("sources", "host_sources", "empty"), [
    (["/inv"], ["/inv/a.yml", "/inv/b.ini"], []),                      # a directory source
    (["/inv/"], ["/inv/a.yml"], []),
    (["/inv"], ["/inventory/a.yml"], ["/inv"]),                        # a sibling is not inside
    (["web1,web2"], ["web1,web2", "web1,web2"], []),                   # a host list
    (["/a.yml", "/b.yml", "/c"], ["/b.yml", None], ["/a.yml", "/c"]),  # a host added without a source
    ([], ["/a.yml"], []),
])
def test_sources_without_hosts(sources, host_sources, empty):
    assert sources_without_hosts(sources, host_sources) == empty


@pytest.mark.parametrize("off", [False, "False", "0", "no"])
def test_host_key_checking_off_fails_unless_allowed(off):
    result = verdict(host_key_checking=off)
    assert not result["ok"] and result["msg"].startswith("host key checking is off")
    assert "patchpilot_allow_host_key_checking_off=true" in result["msg"]
    assert verdict(host_key_checking=off, allow_host_key_checking_off=True)["ok"]


def test_every_problem_is_named_at_once():
    result = verdict(host_sources=[], host_key_checking=False)
    assert len(result["errors"]) == 2 and result["msg"] == "; ".join(result["errors"])


@pytest.mark.parametrize(("result_format", "warned"), [
    ("yaml", False), ("YAML", False), ("json", True), (" json ", True), (None, False), ("", False), ([], False),
])
def test_results_not_in_yaml_are_a_warning_not_an_error(result_format, warned):
    result = verdict(result_format=result_format)
    assert result["ok"]
    assert bool(result["warnings"]) is warned
    if warned:
        assert result["warnings"] == ["results are printed as json, not YAML: multi-line output (apt, diffs) is hard to read; "
                                      "set ANSIBLE_CALLBACK_RESULT_FORMAT=yaml (or callback_result_format = yaml in ansible.cfg)"]
