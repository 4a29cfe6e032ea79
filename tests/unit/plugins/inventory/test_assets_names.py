"""The assets inventory plugin refuses a CMDB host named like a group (issue #10): all, localhost, managed,
a keyed or composed group, a group another source made, an unmanaged endpoint. Nothing is added then."""

import pytest
import yaml
from ansible.errors import AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader

from .test_assets import NAME, new_plugin, plugin_options, scanned  # noqa: F401  pylint: disable=unused-import

CMDB = "hostname,ip_address,role\nweb01,10.0.0.1,web\ndb01,10.0.0.2,db\n"


def parse(tmp_path, config, cmdb, inventory=None):
    """Parse a config and CMDB into ``inventory`` (a new one by default); returns the inventory."""
    (tmp_path / "cmdb.csv").write_text(cmdb, encoding="utf-8")
    path = tmp_path / "fleet.assets.yml"
    path.write_text(yaml.safe_dump(dict({"plugin": NAME, "cmdb": "cmdb.csv"}, **config)), encoding="utf-8")
    inventory = InventoryData() if inventory is None else inventory
    new_plugin().parse(inventory, DataLoader(), str(path), cache=False)
    return inventory


def refusal(tmp_path, config, cmdb, inventory=None):
    inventory = InventoryData() if inventory is None else inventory
    before = (sorted(inventory.hosts), sorted(inventory.groups))
    with pytest.raises(AnsibleParserError) as info:
        parse(tmp_path, config, cmdb, inventory)
    assert (sorted(inventory.hosts), sorted(inventory.groups)) == before  # nothing added
    return str(info.value.message)


@pytest.mark.parametrize("name", ["all", "ungrouped", "localhost", "127.0.0.1", "managed", "unmanaged"])
def test_reserved_names(tmp_path, name):
    message = refusal(tmp_path, {}, CMDB + "%s,10.0.0.3,app\n" % name)
    assert "%s:4: hostname: %r is " % (tmp_path / "cmdb.csv", name) in message
    assert message.endswith("a host cannot have that name")


@pytest.mark.parametrize(("config", "name"), [
    ({"keyed_groups": [{"key": "patchpilot_asset.role", "prefix": "role"}]}, "role_web"),
    ({"keyed_groups": [{"key": "patchpilot_asset.role", "prefix": "role", "parent_group": "roles"}]}, "roles"),
    ({"keyed_groups": [{"key": "patchpilot_asset.role", "separator": "", "leading_separator": False}]}, "db"),
    ({"groups": {"databases": "patchpilot_asset.role == 'db'"}}, "databases"),
])
def test_a_host_named_like_a_group_the_config_makes(tmp_path, config, name):
    message = refusal(tmp_path, config, CMDB + "%s,10.0.0.3,app\n" % name)
    assert message.endswith("%s:4: hostname %s is also a group made by keyed_groups or groups: "
                            "a host cannot have that name" % (tmp_path / "cmdb.csv", name))


def test_a_host_named_like_a_group_of_another_source(tmp_path):
    inventory = InventoryData()
    inventory.add_group("webservers")
    message = refusal(tmp_path, {}, CMDB + "webservers,10.0.0.3,app\n", inventory)
    assert message.endswith(":4: hostname webservers is also a group of the inventory: a host cannot have that name")


def test_a_host_named_like_an_unmanaged_endpoint(tmp_path, scanned):  # noqa: F811
    found, _calls = scanned
    found.append({"address": "10.0.0.9", "port": 22, "protocol": "ssh", "banner": "SSH-2.0-x"})
    config = {"scan": {"ranges": ["10.0.0.9"], "ports": [22]}}
    message = refusal(tmp_path, config, CMDB + "unmanaged_10_0_0_9_22,10.0.0.3,app\n")
    assert message.endswith(":4: hostname unmanaged_10_0_0_9_22 is also the name of an endpoint the scan found: "
                            "a host cannot have that name")


def test_names_that_clash_with_nothing_are_kept(tmp_path):
    config = {"keyed_groups": [{"key": "patchpilot_asset.role", "prefix": "role"}]}
    inventory = parse(tmp_path, config, CMDB + "role_app2,10.0.0.3,app\n")
    assert sorted(inventory.hosts) == ["db01", "role_app2", "web01"]
    assert sorted(name for name in inventory.groups if name.startswith("role_")) == ["role_app", "role_db", "role_web"]
    assert [host.name for host in inventory.groups["role_app"].get_hosts()] == ["role_app2"]
    assert inventory.get_host("role_app2").vars["ansible_host"] == "10.0.0.3"
