"""find_updaters: which automatic updaters could run during the window (the preflight updaters check)."""

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.updaters import UpdatersError, find_updaters


def unit(file="enabled", active="active", load="loaded"):
    return {"load": load, "file": file, "active": active}


UU = {"unattended-upgrades.service": unit("enabled", "active"), "apt-daily-upgrade.timer": unit(),
      "apt-daily-upgrade.service": unit("static", "inactive")}
ON = {"APT::Periodic::Unattended-Upgrade": "1"}


def test_unattended_upgrades_installed_timed_and_enabled_is_flagged():
    found = find_updaters(UU, ON)
    assert found["ok"] is True and found["flagged"] is True and found["action"] == "report"
    assert found["updaters"] == [{"name": "unattended-upgrades", "units": ["apt-daily-upgrade.timer", "apt-daily-upgrade.service"],
                                  "reasons": ["apt-daily-upgrade.timer enabled/active", 'APT::Periodic::Unattended-Upgrade "1"']}]
    assert found["units"] == ["apt-daily-upgrade.timer", "apt-daily-upgrade.service"]
    assert found["message"] == ("updaters: automatic updaters that could run during the window: unattended-upgrades "
                                '(apt-daily-upgrade.timer enabled/active, APT::Periodic::Unattended-Upgrade "1"); '
                                "reported only (automatic_updaters: report)")


@pytest.mark.parametrize("units, config", [
    # the package is not installed (the lab's hosts: the timer is there, apt ships it)
    ({k: v for k, v in UU.items() if k != "unattended-upgrades.service"}, ON),
    ({**UU, "unattended-upgrades.service": unit(load="not-found", file="", active="inactive")}, ON),
    # APT::Periodic::Unattended-Upgrade unset means 0, or set to 0, or all periodic work off
    (UU, {}),
    (UU, {"APT::Periodic::Unattended-Upgrade": "0"}),
    (UU, {**ON, "APT::Periodic::Enable": "0"}),
    # the timer cannot fire: disabled and stopped, masked, or not there
    ({**UU, "apt-daily-upgrade.timer": unit("disabled", "inactive")}, ON),
    ({**UU, "apt-daily-upgrade.timer": unit("masked-runtime", "inactive", load="masked")}, ON),
    ({**UU, "apt-daily-upgrade.timer": unit("masked", "inactive", load="masked")}, ON),
    ({k: v for k, v in UU.items() if k != "apt-daily-upgrade.timer"}, ON),
])
def test_unattended_upgrades_that_cannot_run_is_not_flagged(units, config):
    found = find_updaters(units, config)
    assert found["flagged"] is False and found["updaters"] == [] and found["units"] == []
    assert found["message"] == "updaters: no automatic updater could run during the window"


def test_a_disabled_timer_still_running_can_fire():
    found = find_updaters({**UU, "apt-daily-upgrade.timer": unit("disabled", "active")}, ON)
    assert found["flagged"] is True


@pytest.mark.parametrize("timer, apply_updates, flagged", [
    ("dnf-automatic-install.timer", False, True),
    ("dnf-automatic.timer", True, True),
    ("dnf-automatic.timer", False, False),
    ("dnf-automatic.timer", None, True),
    ("dnf5-automatic.timer", True, True),
])
def test_dnf_automatic(timer, apply_updates, flagged):
    service = timer.replace(".timer", ".service")
    found = find_updaters({timer: unit(), service: unit("static", "inactive")}, {}, apply_updates)
    assert found["flagged"] is flagged
    if flagged:
        assert found["updaters"][0]["name"] == "dnf-automatic" and found["units"] == [timer, service]


def test_dnf_automatic_download_only_timer_is_not_known_as_an_updater():
    assert find_updaters({"dnf-automatic-download.timer": unit()}, {}, True)["flagged"] is False


def test_packagekit_loaded_or_an_offline_update_prepared():
    found = find_updaters({"packagekit.service": unit("static", "inactive")}, {})
    assert found["updaters"] == [{"name": "packagekit", "units": ["packagekit.service", "packagekit-offline-update.service"],
                                  "reasons": ["packagekit.service static/inactive (D-Bus activated)"]}]
    found = find_updaters({}, {}, offline_update=True, action="pause")
    assert found["updaters"][0]["reasons"] == ["an offline update is prepared (/system-update): it installs at the next boot"]
    assert found["message"].endswith("; paused for the run (automatic_updaters: pause)")
    assert find_updaters({"packagekit.service": unit("masked", "inactive", load="masked")}, {})["flagged"] is False


def test_several_updaters_each_unit_once():
    units = {**UU, "packagekit.service": unit("static", "active"), "dnf-automatic-install.timer": unit(),
             "dnf-automatic-install.service": unit("static", "inactive")}
    found = find_updaters(units, ON, None)
    assert [u["name"] for u in found["updaters"]] == ["unattended-upgrades", "dnf-automatic", "packagekit"]
    assert len(found["units"]) == len(set(found["units"])) == 6


@pytest.mark.parametrize("units, config, action, message", [
    ({}, {}, "stop", r"automatic_updaters must be one of report, pause, got 'stop'"),
    ([], {}, "report", r"units and apt_config must be mappings"),
])
def test_bad_input(units, config, action, message):
    with pytest.raises(UpdatersError, match=message):
        find_updaters(units, config, action=action)
