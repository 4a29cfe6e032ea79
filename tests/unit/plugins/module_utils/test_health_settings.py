"""module_utils/health.py health_settings: the policy's health_checks, the role's variables, the defaults."""

from __future__ import annotations

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.health import (
    DEFAULTS,
    HealthSettingsError,
    health_settings,
)
from ansible_collections.patchpilot.fleet.plugins.module_utils.policy import validate_policy

BASELINE = {"services_running": ["a.service", "user@1000.service"], "ports": ["tcp/22", "tcp/8080"]}


def test_an_empty_section_takes_the_defaults_written_once():
    settings = health_settings({})
    for key in ("failed_units", "journal_errors_max", "load_factor", "memory_factor"):
        assert settings[key] == DEFAULTS[key]
    assert (settings["journal_errors_max"], settings["load_factor"], settings["memory_factor"]) == (20, 3.0, 2.0)
    assert settings["journal_priority"] == "err" and "want_services" not in settings


def test_the_policys_section_as_validate_policy_returns_it():
    policy = validate_policy({"version": 2, "reboot": "never", "health_checks": {
        "services": ["nginx"], "ports": [443], "journal_errors_max": 5,
        "http": [{"url": "http://127.0.0.1/", "name": "web"}], "commands": [{"command": "systemctl is-active nginx"}]}})
    settings = health_settings(policy["health_checks"], {}, BASELINE)
    assert settings["services"] == ["nginx.service"] and settings["ports"] == ["tcp/443"]
    assert settings["journal_errors_max"] == 5 and settings["load_factor"] == 3.0
    assert settings["http"] == [{"name": "http:web", "url": "http://127.0.0.1/", "status": 200, "timeout": 10,
                                 "validate_certs": True}]
    assert [c["name"] for c in settings["commands"]] == ["command:systemctl is-active nginx"]
    assert settings["commands"][0]["argv"] == ["systemctl", "is-active", "nginx"]
    assert settings["want_ports"] == ["tcp/22", "tcp/443", "tcp/8080"]


def test_a_role_variable_replaces_the_policys_key_and_null_does_not():
    settings = health_settings({"load_factor": 5.0, "journal_errors_max": 7},
                               {"load_factor": 10.0, "journal_errors_max": None})
    assert settings["load_factor"] == 10.0 and settings["journal_errors_max"] == 7


def test_want_lists_from_the_baseline_less_the_ignored_plus_the_extra():
    settings = health_settings({}, {"services": ["b"], "services_ignore": ["user@*.service"],
                                    "ports": [9000, "udp/53"], "ports_ignore": [8080]}, BASELINE)
    assert settings["want_services"] == ["a.service", "b.service"]
    assert settings["want_ports"] == ["tcp/22", "tcp/9000", "udp/53"]


def test_command_strings_and_argv_lists():
    settings = health_settings({}, {"commands": [{"command": "test -e /x"}, {"command": ["id", "-u"], "rc": 1}]})
    assert settings["commands"] == [
        {"name": "command:test -e /x", "argv": None, "cmd": "test -e /x", "rc": 0},
        {"name": "command:id -u", "argv": ["id", "-u"], "cmd": None, "rc": 1}]


@pytest.mark.parametrize("health_checks, overrides, message", [
    ({}, {"ports": ["http"]}, r"verify_ports: http is not a port \(tcp/PORT, udp/PORT or a number\)"),
    ({}, {"ports": [70000]}, "verify_ports: 70000 is not a port"),
    ({}, {"ports_ignore": ["x"]}, "verify_ports_ignore: x is not a port"),
    ({"ports": "22"}, {}, "verify_health_checks.ports: expected a list of ports, got str"),
    ({}, {"http": [{"status": 200}]}, r"verify_http_checks: each entry needs url: http\(s\)://"),
    ({}, {"http": [{"url": "ftp://x"}]}, "verify_http_checks: each entry needs url"),
    ({}, {"commands": [{"command": ""}]}, "verify_command_checks: each entry needs command"),
    ({}, {"commands": [{"command": []}]}, "verify_command_checks: each entry needs command"),
    ({}, {"commands": [{"command": "true"}], "http": [{"url": "http://a/", "name": "x"}]}, None),
    ({}, {"commands": [{"command": "a", "name": "x"}, {"command": "b", "name": "x"}]},
     "two checks have the same name \\(command:x\\)"),
    ({}, {"journal_errors_max": -2}, "verify_journal_errors_max: expected a whole number, -1"),
    ({"load_factor": -1.0}, {}, "verify_health_checks.load_factor: expected a number, 0"),
    ({}, {"memory_factor": float("nan")}, "verify_memory_factor: expected a number"),
    ({}, {"failed_units": "yes"}, "verify_failed_units: expected true or false"),
    ({}, {"services": [""]}, "verify_services: expected a list of non-empty strings"),
    ({}, {"journal_priority": "loud"}, "verify_journal_priority: 'loud' is not one of"),
    ({"colour": 1}, {}, "verify_health_checks: unknown key colour"),
    ("everything", {}, "verify_health_checks: expected a mapping"),
])
def test_bad_input_is_one_error_naming_the_variable(health_checks, overrides, message):
    if message is None:
        health_settings(health_checks, overrides)
        return
    with pytest.raises(HealthSettingsError, match=message):
        health_settings(health_checks, overrides)
