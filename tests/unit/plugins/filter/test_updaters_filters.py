"""The automatic updaters filters parse the commands' output and turn bad input into one AnsibleFilterError."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.patchpilot.fleet.plugins.filter.updaters import FilterModule

FILTERS = FilterModule().filters()
SHOW = ("Id=apt-daily-upgrade.timer\nLoadState=loaded\nActiveState=active\nUnitFileState=enabled\n\n"
        "Id=apt-daily-upgrade.service\nLoadState=loaded\nActiveState=inactive\nUnitFileState=static\n\n"
        "Id=unattended-upgrades.service\nLoadState=loaded\nActiveState=active\nUnitFileState=enabled\n")
PAUSED = SHOW.replace("UnitFileState=enabled\n\nId=apt-daily-upgrade.service", "UnitFileState=masked-runtime\n\n"
                      "Id=apt-daily-upgrade.service").replace("ActiveState=active\nUnitFileState=masked-runtime",
                                                              "ActiveState=inactive\nUnitFileState=masked-runtime")


def test_the_round_trip_from_the_commands_output():
    found = FILTERS["automatic_updaters"](SHOW, 'APT::Periodic::Unattended-Upgrade "1";\n', None, False, "pause")
    assert found["flagged"] is True and found["units"] == ["apt-daily-upgrade.timer", "apt-daily-upgrade.service"]
    pause = FILTERS["updaters_pause"](SHOW, found["units"], None)
    assert pause["stop"] == ["apt-daily-upgrade.timer"] and pause["mask"] == found["units"]
    resume = FILTERS["updaters_resume"](PAUSED, pause["state"])
    assert resume == {"unmask": ["apt-daily-upgrade.timer"], "start": ["apt-daily-upgrade.timer"]}
    assert FILTERS["updaters_restored"](SHOW, pause["state"]) == []
    assert FILTERS["updaters_restored"](PAUSED, pause["state"]) == [
        "apt-daily-upgrade.timer: unit file masked-runtime, was enabled", "apt-daily-upgrade.timer: inactive, was active"]


@pytest.mark.parametrize("name, args, message", [
    ("automatic_updaters", (SHOW, "", "", False, "always"), r"^automatic_updaters: automatic_updaters must be one of"),
    ("automatic_updaters", (["a"],), r"^automatic_updaters: systemctl show must be a command's output"),
    ("updaters_pause", (SHOW, "apt-daily-upgrade.timer"), r"^updaters_pause: the units to pause must be a list"),
    ("updaters_resume", (SHOW, {"paused": 1}), r"^updaters_resume: the state file must be a mapping"),
    ("updaters_restored", (SHOW, {"paused": [{}]}), r"^updaters_restored: the state file's paused\[0\]"),
])
def test_bad_input_is_one_filter_error(name, args, message):
    with pytest.raises(AnsibleFilterError, match=message):
        FILTERS[name](*args)
