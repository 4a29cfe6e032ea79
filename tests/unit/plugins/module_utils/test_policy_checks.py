"""policy_checks: the rules a JSON Schema cannot say, one named check each, tested on their own."""

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils import policy_checks as checks


def everything_clean(_path):
    return True


def nothing_clean(_path):
    return False


def clean_but(*bad):
    """clean() as validate_policy makes it: no schema problem at, below or above the path."""
    return lambda path: not any(where[:len(path)] == path or path[:len(where)] == where for where in bad)


def run(check, data, clean=everything_clean, **options):
    return check(data, clean, **options)


def test_every_check_is_listed_once():
    named = [getattr(checks, name) for name in dir(checks) if name.startswith("check_")]
    assert set(checks.CHECKS) | {checks.check_version_1_keys} == set(named)
    assert len(set(checks.CHECKS)) == len(checks.CHECKS)


@pytest.mark.parametrize("data, expected", [
    ({"version": 2}, []),
    ({}, [(("version",), "required (this format is version 2)")]),
    ({"version": 3}, [(("version",), "3 is newer than this patchpilot knows (1 or 2)")]),
    ({"version": "2"}, [(("version",), "expected 1 or 2, got '2'")]),
    ({"version": True}, [(("version",), "expected 1 or 2, got true")]),
])
def test_check_version(data, expected):
    assert run(checks.check_version, data) == expected


def test_check_version_1_keys():
    assert run(checks.check_version_1_keys, {"canary_percent": 5, "waves": []}) == [
        (("canary_percent",), "a version 1 key: version 2 has rollout.canary.percent"),
        (("waves",), "a version 1 key: version 2 has rollout.waves")]
    assert run(checks.check_version_1_keys, {"canary_percent": 5}, migrated=True) == [
        (("canary_percent",), "a version 1 key, but rollout.canary is set too: keep one")]
    assert run(checks.check_version_1_keys, {"rollout": {}}) == []


def test_check_finite():
    data = {"health_checks": {"load_factor": float("nan")},
            "hooks": {"pre_wave": [{"url": "https://example.org/", "body": {"n": [float("inf")]}}]}}
    assert run(checks.check_finite, data) == [
        (("health_checks", "load_factor"), "expected a finite number, got nan"),
        (("hooks", "pre_wave", 0, "body"), "NaN and infinity are no JSON numbers: give a finite number")]
    assert run(checks.check_finite, data, nothing_clean) == []
    assert run(checks.check_finite, {"health_checks": {"load_factor": 2.5}}) == []


@pytest.mark.parametrize("pattern, refused", [("*", True), ("?*", True), ("[a-z]*", True), (" * ", True),
                                              ("openssl*", False), ("?ash", False)])
def test_check_emergency_for_everything(pattern, refused):
    found = run(checks.check_emergency_for_everything, {"emergency": {"packages": ["nginx", pattern]}})
    assert bool(found) is refused
    if refused:
        assert found[0][0] == ("emergency", "packages", 1) and "allow_all: true" in found[0][1]
    assert run(checks.check_emergency_for_everything,
               {"emergency": {"packages": [pattern], "allow_all": True}}) == []


def test_check_emergency_for_everything_ignores_other_shapes():
    assert run(checks.check_emergency_for_everything, {"emergency": {"packages": 5}}) == []
    assert run(checks.check_emergency_for_everything, {"emergency": "x"}) == []


@pytest.mark.parametrize("emergency, refused", [
    ({"bypass_windows": True}, True), ({"bypass_freezes": True, "cves": []}, True),
    ({"bypass_windows": True, "cves": ["CVE-2026-1"]}, False), ({"bypass_freezes": True, "packages": ["x"]}, False),
    ({"cves": []}, False),
])
def test_check_emergency_bypass_names_something(emergency, refused):
    found = run(checks.check_emergency_bypass_names_something, {"emergency": emergency})
    assert bool(found) is refused
    assert run(checks.check_emergency_bypass_names_something, {"emergency": emergency}, nothing_clean) == []


@pytest.mark.parametrize("waves, expected", [
    (["rest"], []),
    ([2, "25%", "rest"], []),
    (["50%", "50%"], []),
    (["50%", "30%"], [(("rollout", "waves"), "the waves take 80%, which does not cover every host: end with "
                                             "\"rest\" or make the percentages add up to 100%")]),
    ([1, "5"], [(("rollout", "waves"), "the waves take 6 hosts, which does not cover every host: end with "
                                       "\"rest\" or make the percentages add up to 100%")]),
    (["25%", "100%"], [(("rollout", "waves"), "the percentages add up to 125%, more than 100% (each is one wave's "
                                              "own share, not a running total; end with \"rest\" for the remainder)")]),
    (["100%", "rest"], [(("rollout", "waves", 1), "the waves before it already take 100% of the hosts, so this "
                                                  "wave would be empty")]),
    (["rest", 5], [(("rollout", "waves", 0), "\"rest\" must be the last wave")]),
])
def test_check_waves_cover_every_host(waves, expected):
    assert run(checks.check_waves_cover_every_host, {"rollout": {"waves": waves}}) == expected


def test_check_waves_skips_what_the_schema_refused():
    assert run(checks.check_waves_cover_every_host, {"rollout": {"waves": ["50%", "x"]}},
               clean_but(("rollout", "waves", 1))) == []


def test_check_anti_affinity_fits():
    data = {"rollout": {"anti_affinity": [["db1", "db2", "db3"], {"group": "g"}], "waves": ["rest"]}}
    assert run(checks.check_anti_affinity_fits, data) == [
        (("rollout", "anti_affinity", 0), "3 hosts at most 1 per wave need 3 waves, but the rollout has 1")]
    data["rollout"].update(canary={"hosts": ["web1"]}, waves=[1, "rest"])
    assert run(checks.check_anti_affinity_fits, data) == []
    data["rollout"]["max_per_wave_per_group"] = 2
    data["rollout"]["canary"] = None
    assert run(checks.check_anti_affinity_fits, data) == []
    assert run(checks.check_anti_affinity_fits, {"rollout": {"anti_affinity": [[" a", "a"]]}}) == [
        (("rollout", "anti_affinity", 0), "a host is listed twice")]


def test_check_command_lines_split():
    data = {"hooks": {"pre_host": ["echo 'x", {"command": "ok", "undo": "echo \"y"}]},
            "health_checks": {"commands": [{"command": "a 'b"}, {"command": ["a", "'"]}]}}
    assert run(checks.check_command_lines_split, data) == [
        (("hooks", "pre_host", 0), "cannot split the command line: No closing quotation"),
        (("hooks", "pre_host", 1, "undo"), "cannot split the command line: No closing quotation"),
        (("health_checks", "commands", 0, "command"), "cannot split the command line: No closing quotation")]


@pytest.mark.parametrize("name, secret", [("token", True), ("api_key", True), ("apiKey", True), ("X-Amz-Signature", True),
                                          ("code", True), ("channel", False), ("format", False), ("keyboard", False)])
def test_looks_secret(name, secret):
    assert checks.looks_secret(name) is secret


def test_check_no_credentials_in_urls():
    data = {"health_checks": {"http": [{"url": "https://a.example.org/?token=abc"}]},
            "hooks": {"pre_wave": [{"url": "https://b.example.org/?a=1", "undo": {"url": "https://c.example.org/?sig=x"}}]},
            "notifications": [{"type": "webhook", "target": "https://d.example.org/?apiKey=k"},
                              {"type": "email", "target": "a@example.org"}]}
    found = run(checks.check_no_credentials_in_urls, data)
    assert [path for path, _message in found] == [
        ("health_checks", "http", 0, "url"), ("hooks", "pre_wave", 0, "undo", "url"), ("notifications", 0, "target")]
    assert all("url_var" in message and "abc" not in message for _path, message in found)


def test_check_no_credentials_in_headers():
    data = {"hooks": {"pre_wave": [{"url": "https://b.example.org/", "headers": {"X-Team": "a", "X-Api-Key": "k"}}]},
            "notifications": [{"type": "webhook", "target": "https://d.example.org/", "headers": {"Cookie": "c"}}]}
    found = run(checks.check_no_credentials_in_headers, data)
    assert [path for path, _message in found] == [
        ("hooks", "pre_wave", 0, "headers", "X-Api-Key"), ("notifications", 0, "headers", "Cookie")]
    assert found[0][1].endswith("token_var: VARIABLE, token_header: X-Api-Key")


def test_check_smtp_password():
    data = {"notifications": [{"type": "email", "password": "x"}, {"type": "webhook", "password": "x"}]}
    assert run(checks.check_smtp_password, data) == [
        (("notifications", 0, "password"),
         "the SMTP password is never written in the policy: set the variable "
         "patchpilot_smtp_password (Ansible Vault or an AWX credential)")]


def test_check_webhook_auth_or_token():
    data = {"notifications": [{"type": "webhook", "auth": "bearer", "token_var": "t"},
                              {"type": "webhook", "auth": "bearer"}, {"type": "webhook", "token_var": "t"}]}
    assert run(checks.check_webhook_auth_or_token, data) == [
        (("notifications", 0, "auth"), "bearer is the variable patchpilot_webhook_token: give auth or token_var, "
                                       "not both")]


def test_check_priority_emergency():
    assert run(checks.check_priority_emergency, {"priority": {"emergency": {}}}) == [
        (("priority", "emergency"), "emergency rules are set once, in the top-level emergency key")]
    assert run(checks.check_priority_emergency, {"priority": {"sla_days": {}}}) == []


@pytest.mark.parametrize("zone, refused", [
    ("Europe/Berlin", False), ("UTC", False), (" America/New_York ", False),
    ("Mars/Olympus", True), ("", True), (5, True), ("../../etc/passwd", True),
])
def test_check_timezone_known(zone, refused):
    found = run(checks.check_timezone_known, {"windows": {"timezone": zone}})
    assert bool(found) is refused
    if refused:
        assert found[0][0] == ("windows", "timezone") and "is not a known time zone" in found[0][1]
    assert run(checks.check_timezone_known, {"windows": {}}) == []


def test_check_window_has_length():
    data = {"windows": {"maintenance": [{"name": "a", "start": "02:00", "end": "2:00"},
                                        {"name": "b", "start": "00:00", "end": "24:00"},
                                        {"name": "c", "start": "22:00", "end": "04:00"}]}}
    assert run(checks.check_window_has_length, data) == [
        (("windows", "maintenance", 0), "start and end are both 02:00; a window needs a length"),
        (("windows", "maintenance", 1), "start and end are both 00:00; a window needs a length")]
    assert run(checks.check_window_has_length, data, clean_but(("windows", "maintenance", 0, "end"))) == [
        (("windows", "maintenance", 1), "start and end are both 00:00; a window needs a length")]


def test_check_window_names_unique():
    data = {"windows": {"maintenance": [{"name": "nightly"}, {"name": "weekend"}, {"name": " nightly "}, "x"]}}
    assert run(checks.check_window_names_unique, data) == [
        (("windows", "maintenance", 2, "name"), "'nightly' is already the name of windows.maintenance[0]")]
    assert run(checks.check_window_names_unique, {"windows": {"maintenance": "nightly"}}) == []


def test_check_freeze_in_order():
    data = {"windows": {"freezes": [{"start": "2026-12-20", "end": "2026-12-20", "reason": "one day"},
                                    {"start": "2026-12-20", "end": "2026-12-01", "reason": "backwards"}]}}
    assert run(checks.check_freeze_in_order, data) == [
        (("windows", "freezes", 1), "end 2026-12-01 is before start 2026-12-20")]
    assert run(checks.check_freeze_in_order, data, nothing_clean) == []
