"""pause_actions: what pausing the automatic updaters stops and masks, and the state kept for resume."""

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.updaters import UpdatersError, pause_actions


def unit(file="enabled", active="active", load="loaded"):
    return {"load": load, "file": file, "active": active}


TARGETS = ["apt-daily-upgrade.timer", "apt-daily-upgrade.service"]


def test_a_running_timer_is_stopped_and_masked_its_job_only_masked():
    units = {"apt-daily-upgrade.timer": unit(), "apt-daily-upgrade.service": unit("static", "inactive")}
    plan = pause_actions(units, TARGETS)
    assert plan["stop"] == ["apt-daily-upgrade.timer"]
    assert plan["mask"] == TARGETS
    assert plan["state"] == {"resumed": False, "paused": [
        {"unit": "apt-daily-upgrade.timer", "file": "enabled", "active": "active", "masked": True, "stopped": True},
        {"unit": "apt-daily-upgrade.service", "file": "static", "active": "inactive", "masked": True, "stopped": False}]}


def test_a_running_job_is_never_stopped():
    plan = pause_actions({"apt-daily-upgrade.service": unit("static", "activating")}, ["apt-daily-upgrade.service"])
    assert plan["stop"] == [] and plan["mask"] == ["apt-daily-upgrade.service"]


def test_a_running_daemon_is_stopped():
    plan = pause_actions({"packagekit.service": unit("static", "active")}, ["packagekit.service"])
    assert plan["stop"] == ["packagekit.service"]


def test_an_enabled_timer_not_running_is_only_masked():
    plan = pause_actions({"apt-daily-upgrade.timer": unit("enabled", "inactive")}, ["apt-daily-upgrade.timer"])
    assert plan["stop"] == [] and plan["state"]["paused"][0]["stopped"] is False


@pytest.mark.parametrize("state", [
    None, unit("", "inactive", load="not-found"), unit("masked", "inactive", load="masked"),
    unit("masked-runtime", "inactive", load="masked")])
def test_absent_or_masked_units_are_left_alone(state):
    units = {} if state is None else {"apt-daily-upgrade.timer": state}
    assert pause_actions(units, ["apt-daily-upgrade.timer"]) == {"stop": [], "mask": [], "state": {"paused": [], "resumed": False}}


def test_a_rerun_keeps_the_state_from_before_the_first_pause():
    first = pause_actions({"apt-daily-upgrade.timer": unit()}, ["apt-daily-upgrade.timer"])
    # the first pause masked the timer; a rerun sees it masked, and the saved state stays
    paused = {"apt-daily-upgrade.timer": unit("masked-runtime", "inactive", load="masked"),
              "packagekit.service": unit("static", "inactive")}
    again = pause_actions(paused, ["apt-daily-upgrade.timer", "packagekit.service"], first["state"])
    assert again["stop"] == [] and again["mask"] == ["packagekit.service"]
    assert again["state"]["paused"] == first["state"]["paused"] + [
        {"unit": "packagekit.service", "file": "static", "active": "inactive", "masked": True, "stopped": False}]


def test_a_resumed_state_file_starts_afresh():
    saved = {"resumed": True, "paused": [{"unit": "a.timer", "file": "enabled", "active": "active",
                                          "masked": True, "stopped": True}]}
    plan = pause_actions({"b.timer": unit()}, ["b.timer"], saved)
    assert [e["unit"] for e in plan["state"]["paused"]] == ["b.timer"]


def test_each_target_once():
    assert pause_actions({"a.timer": unit()}, ["a.timer", "a.timer"])["mask"] == ["a.timer"]


@pytest.mark.parametrize("targets, saved, message", [
    ("a.timer", None, r"the units to pause must be a list of unit names"),
    (["a.timer; reboot"], None, r"not a unit name: 'a.timer; reboot'"),
    (["-a.timer"], None, r"not a unit name: '-a.timer'"),
    ([], {"paused": "x"}, r"the state file must be a mapping with a list 'paused'"),
    ([], {"paused": [{"unit": "a.timer"}]}, r"paused\[0\] must be \{unit, file, active, masked, stopped\}"),
])
def test_bad_input(targets, saved, message):
    with pytest.raises(UpdatersError, match=message):
        pause_actions({}, targets, saved)
