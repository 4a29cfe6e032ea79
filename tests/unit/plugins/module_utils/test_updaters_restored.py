"""restored: after resume, the automatic updaters' units are as they were before the pause."""

from ansible_collections.patchpilot.fleet.plugins.module_utils.updaters import restored


def unit(file="enabled", active="active", load="loaded"):
    return {"load": load, "file": file, "active": active}


SAVED = {"resumed": False, "paused": [
    {"unit": "apt-daily-upgrade.timer", "file": "enabled", "active": "active", "masked": True, "stopped": True},
    {"unit": "apt-daily-upgrade.service", "file": "static", "active": "inactive", "masked": True, "stopped": False}]}


def test_back_as_before():
    assert restored({"apt-daily-upgrade.timer": unit(), "apt-daily-upgrade.service": unit("static", "inactive")}, SAVED) == []


def test_a_job_that_ran_meanwhile_is_not_a_difference():
    assert restored({"apt-daily-upgrade.timer": unit(), "apt-daily-upgrade.service": unit("static", "active")}, SAVED) == []


def test_still_masked_and_not_running():
    problems = restored({"apt-daily-upgrade.timer": unit("masked-runtime", "inactive", load="masked"),
                         "apt-daily-upgrade.service": unit("masked-runtime", "inactive", load="masked")}, SAVED)
    assert problems == ["apt-daily-upgrade.timer: unit file masked-runtime, was enabled",
                        "apt-daily-upgrade.timer: inactive, was active",
                        "apt-daily-upgrade.service: unit file masked-runtime, was static"]


def test_a_unit_gone_is_named():
    assert restored({"apt-daily-upgrade.service": unit("static", "inactive")}, SAVED) == [
        "apt-daily-upgrade.timer: unit file unknown, was enabled", "apt-daily-upgrade.timer: unknown, was active"]


def test_nothing_paused_is_restored():
    assert restored({}, None) == [] and restored({}, {**SAVED, "resumed": True}) == []
