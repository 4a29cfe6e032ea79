"""Reading systemctl show, apt-config dump and dnf-automatic's automatic.conf."""

from pathlib import Path

from ansible_collections.patchpilot.fleet.plugins.module_utils.updaters import (
    UNITS,
    parse_apt_config,
    parse_dnf_automatic,
    parse_systemctl_show,
)

FIXTURES = Path(__file__).parent / "fixtures" / "updaters"


def fixture(name):
    return (FIXTURES / name).read_text(encoding="utf-8")


def test_recorded_systemctl_show():
    units = parse_systemctl_show(fixture("show-trixie.txt"))
    assert set(units) == set(UNITS)
    assert units["apt-daily-upgrade.timer"] == {"load": "loaded", "file": "enabled", "active": "active"}
    assert units["apt-daily-upgrade.service"] == {"load": "loaded", "file": "static", "active": "inactive"}
    assert units["packagekit.service"] == {"load": "not-found", "file": "", "active": "inactive"}


def test_systemctl_show_of_a_runtime_masked_unit_and_nothing():
    text = "Id=a.timer\nLoadState=masked\nActiveState=inactive\nUnitFileState=masked-runtime\n\n\n"
    assert parse_systemctl_show(text) == {"a.timer": {"load": "masked", "file": "masked-runtime", "active": "inactive"}}
    assert not parse_systemctl_show("")
    assert not parse_systemctl_show(None)


def test_recorded_apt_config_without_periodic_settings():
    config = parse_apt_config(fixture("apt-config-trixie.txt"))
    assert config["APT::Architecture"] == "amd64"
    assert not [k for k in config if k.startswith("APT::Periodic")]


def test_apt_config_periodic_settings_last_wins():
    text = ('APT::Periodic "";\nAPT::Periodic::Update-Package-Lists "1";\n'
            'APT::Periodic::Unattended-Upgrade "1";\nAPT::Periodic::Unattended-Upgrade "0";\nnot a line\n')
    assert parse_apt_config(text) == {"APT::Periodic": "", "APT::Periodic::Update-Package-Lists": "1",
                                      "APT::Periodic::Unattended-Upgrade": "0"}


def test_dnf_automatic_apply_updates():
    assert parse_dnf_automatic("[commands]\nupgrade_type = default\napply_updates = yes\n") is True
    assert parse_dnf_automatic("[commands]\napply_updates = no\n") is False
    assert parse_dnf_automatic("[commands]\n# apply_updates = yes\n") is None
    assert parse_dnf_automatic("") is None
    assert parse_dnf_automatic("no section header\n") is None
    assert parse_dnf_automatic("[commands]\napply_updates=True\n[emitters]\nemit_via = stdio\n") is True
