"""resume_actions: what resuming the paused automatic updaters unmasks and starts."""

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.updaters import UpdatersError, resume_actions


def unit(file="enabled", active="active", load="loaded"):
    return {"load": load, "file": file, "active": active}


SAVED = {"resumed": False, "paused": [
    {"unit": "apt-daily-upgrade.timer", "file": "enabled", "active": "active", "masked": True, "stopped": True},
    {"unit": "apt-daily-upgrade.service", "file": "static", "active": "inactive", "masked": True, "stopped": False}]}
PAUSED = {"apt-daily-upgrade.timer": unit("masked-runtime", "inactive", load="masked"),
          "apt-daily-upgrade.service": unit("masked-runtime", "inactive", load="masked")}


def test_unmask_what_was_masked_and_start_what_was_stopped():
    assert resume_actions(PAUSED, SAVED) == {"unmask": ["apt-daily-upgrade.timer", "apt-daily-upgrade.service"],
                                             "start": ["apt-daily-upgrade.timer"]}


def test_already_resumed_does_nothing():
    back = {"apt-daily-upgrade.timer": unit(), "apt-daily-upgrade.service": unit("static", "inactive")}
    assert resume_actions(back, SAVED) == {"unmask": [], "start": []}
    assert resume_actions(PAUSED, {**SAVED, "resumed": True}) == {"unmask": [], "start": []}


def test_nothing_paused_nothing_to_do():
    assert resume_actions(PAUSED, None) == {"unmask": [], "start": []}
    assert resume_actions(PAUSED, {"paused": [], "resumed": False}) == {"unmask": [], "start": []}


def test_a_unit_masked_for_good_since_is_not_overruled():
    units = {**PAUSED, "apt-daily-upgrade.timer": unit("masked", "inactive", load="masked")}
    assert resume_actions(units, SAVED)["unmask"] == ["apt-daily-upgrade.service"]


def test_bad_state_file():
    with pytest.raises(UpdatersError, match=r"the state file must be a mapping"):
        resume_actions(PAUSED, ["apt-daily-upgrade.timer"])
