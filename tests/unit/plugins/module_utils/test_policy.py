"""The policy: reading, migration, validation with every error at once, defaults, the JSON Schema."""

import copy
import json
import socket
import subprocess
from datetime import date
from pathlib import Path

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils import policy as policy_module
from ansible_collections.patchpilot.fleet.plugins.module_utils.policy import (
    DEFAULTS,
    PolicyError,
    load_policy,
    migrate,
    read_policy,
    validate_policy,
)
from ansible_collections.patchpilot.fleet.plugins.module_utils.priority import (
    DEFAULT_SLA_DAYS,
    DEFAULT_WEIGHTS,
    prioritise,
)
from support.skips import require_module

REPO = Path(__file__).resolve().parents[4]
EXAMPLE = REPO / "examples" / "policy.yml"
SCHEMA = REPO / "docs" / "policy.schema.json"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "policy"
TODAY = date(2026, 11, 27)
MINIMAL = {"version": 2, "reboot": "never"}
DELETE = object()


def changed(base=None, **changes):
    """A copy of ``base`` (MINIMAL) with dotted keys set (``rollout__waves`` is rollout.waves), or deleted."""
    data = copy.deepcopy(MINIMAL if base is None else base)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = data
        for key in parents:
            node = node.setdefault(key, {})
        if value is DELETE:
            node.pop(last, None)
        else:
            node[last] = value
    return data


@pytest.fixture
def no_side_effects(monkeypatch):
    """Validation is pure: it opens no connection and runs no command."""
    def refuse(*_args, **_kwargs):
        raise AssertionError("policy validation must not touch the network or run commands")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)


def errors_of(data, today=TODAY) -> list:
    with pytest.raises(PolicyError) as caught:
        validate_policy(data, today=today)
    return caught.value.errors


# ---------------------------------------------------------------------------
# Valid policies and defaults
# ---------------------------------------------------------------------------

def test_minimal_policy_gets_every_default():
    result = validate_policy(MINIMAL, today=TODAY)
    expected = copy.deepcopy(DEFAULTS)
    expected.update(reboot="never", notes=[], warnings=[])
    expected["priority"] = {
        "sla_days": DEFAULT_SLA_DAYS, "severity_by_classification": result["priority"]["severity_by_classification"],
        "emergency": {"cves": [], "packages": []}, "weights": DEFAULT_WEIGHTS,
    }
    assert result == expected
    assert set(result) == set(policy_module._TOP_KEYS) | {"notes", "warnings"}
    # Safe defaults: nothing approved automatically, no removals, no bypass, no failure tolerated.
    assert result["approvals"]["auto"] == {"classifications": [], "severities": [], "after_days": None}
    assert result["approvals"]["allow_removals"] is False
    assert result["emergency"]["bypass_windows"] is False and result["emergency"]["bypass_freezes"] is False
    assert result["budget"] == {"max_failed": 0, "count_unreachable": True}
    assert result["restart_services"] == "flag"
    assert result["windows"] == {"timezone": "UTC", "maintenance": [], "freezes": []}
    json.dumps(result)  # plain JSON data


def test_example_policy_validates_and_normalises():
    result = read_policy(EXAMPLE, today=TODAY)
    assert result["change_ticket"] == "CHG-1234"
    assert result["approvals"]["approve"] == [
        {"package": "tzdata", "note": "time zone data is always safe to take"},
        {"cve": "CVE-2026-1234", "note": None},
    ]
    assert [r["expired"] for r in result["approvals"]["reject"]] == [False, False]
    assert result["rollout"]["waves"] == [2, {"percent": 25}, "rest"]
    assert result["rollout"]["canary"] == {"group": "canary"}
    assert result["rollout"]["anti_affinity"] == [["db01", "db02"], {"group": "web_ha"}]
    assert result["budget"]["max_failed"] == {"percent": 10}
    assert result["windows"]["maintenance"][0] == {
        "name": "weeknights", "days": ["mon", "tue", "wed", "thu"], "start": "22:00", "end": "04:00"}
    assert result["hooks"]["post_host"] == [{
        "name": "/usr/local/sbin/lb-undrain --quiet", "command": ["/usr/local/sbin/lb-undrain", "--quiet"],
        "url": None, "url_var": None, "on": "host", "method": None, "headers": None, "body": None, "status": None,
        "timeout": 30, "token_var": None, "token_header": None, "undo": None}]
    assert result["hooks"]["pre_host"][0]["undo"]["url"] == "https://lb.example.com/api/pools/web/members/{host}/enable"
    assert result["notifications"][1]["events"] == ["start", "wave", "reboot", "failure", "done"]
    assert result["priority"]["sla_days"] == {**DEFAULT_SLA_DAYS, "critical": 1}
    assert result["priority"]["severity_by_classification"]["third_party"] == "high"
    assert result["priority"]["emergency"] == {"cves": ["CVE-2026-9999"], "packages": ["openssl*", "libssl*"]}
    assert result["warnings"] == [] and result["notes"] == []
    json.dumps(result)


@pytest.mark.parametrize("given, expected", [
    ({"rollout": {"waves": ["25 %", "75%"]}}, {"waves": [{"percent": 25}, {"percent": 75}]}),
    ({"rollout": {"waves": ["12.5%", "87.5%"]}}, {"waves": [{"percent": 12.5}, {"percent": 87.5}]}),
    ({"rollout": {"waves": [1, "5", "REST"]}}, {"waves": [1, 5, "rest"]}),
    ({"rollout": {"waves": [3, "100%"]}}, {"waves": [3, {"percent": 100}]}),
    ({"rollout": {"canary": {"percent": "10%"}}}, {"canary": {"percent": 10}}),
    ({"rollout": {"canary": {"percent": 2.5}}}, {"canary": {"percent": 2.5}}),
    ({"rollout": {"canary": {"hosts": ["web01", " web01 ", "web02"]}}}, {"canary": {"hosts": ["web01", "web02"]}}),
])
def test_sizes_are_normalised(given, expected):
    rollout = validate_policy({**MINIMAL, **given}, today=TODAY)["rollout"]
    for key, value in expected.items():
        assert rollout[key] == value


@pytest.mark.parametrize("value, expected", [
    (3, 3), ("3", 3), (0, 0), ("10%", {"percent": 10}), ("0%", {"percent": 0}), ("100%", {"percent": 100}),
    ("7.5%", {"percent": 7.5}),
])
def test_budget_is_a_count_or_a_percent(value, expected):
    assert validate_policy(changed(budget__max_failed=value), today=TODAY)["budget"]["max_failed"] == expected


def test_values_are_normalised():
    result = validate_policy(changed(
        approvals={"auto": {"classifications": ["Security", "bugfix", "security"], "severities": ["HIGH"]},
                   "approve": [{"cve": " cve-2026-0001 "}]},
        emergency={"cves": ["cve-2026-0002", "CVE-2026-0002"], "packages": [" openssl* "]},
        windows={"maintenance": [{"name": "n", "days": ["Friday", "mon"], "start": "1:30", "end": "24:00"}]},
        health_checks={"ports": [22, 22, 443]},
        change_ticket=4711,
        approvers=["alice", "alice", "bob"],
    ), today=TODAY)
    assert result["approvals"]["auto"]["classifications"] == ["security", "bugfix"]
    assert result["approvals"]["auto"]["severities"] == ["high"]
    assert result["approvals"]["approve"] == [{"cve": "CVE-2026-0001", "note": None}]
    assert result["emergency"]["cves"] == ["CVE-2026-0002"]
    assert result["emergency"]["packages"] == ["openssl*"]
    assert result["windows"]["maintenance"] == [{"name": "n", "days": ["mon", "fri"], "start": "01:30", "end": "00:00"}]
    assert result["health_checks"]["ports"] == [22, 443]
    assert result["change_ticket"] == "4711"
    assert result["approvers"] == ["alice", "bob"]


@pytest.mark.parametrize("path", sorted((FIXTURES / "valid").glob("*.yml")), ids=lambda p: p.name)
def test_valid_fixtures_validate(path):
    result = read_policy(path, today=TODAY)
    assert result["version"] == 2 and result["notes"] == [] and result["warnings"] == []


def test_expired_rejection_is_a_warning_not_an_error():
    data = changed(approvals__reject=[
        {"package": "nginx", "reason": "old", "expires": "2026-11-26"},
        {"package": "nginx", "reason": "today", "expires": date(2026, 11, 27)},
    ])
    result = validate_policy(data, today=TODAY)
    assert [r["expired"] for r in result["approvals"]["reject"]] == [True, False]
    assert result["warnings"] == ["approvals.reject[0]: expired on 2026-11-26; it no longer applies"]
    # A policy that fails keeps its warnings too.
    with pytest.raises(PolicyError) as caught:
        validate_policy(changed(data, reboot=DELETE), today=TODAY)
    assert caught.value.warnings == result["warnings"]
    assert caught.value.errors == ["reboot: choose never, if_required or always"]


def test_today_defaults_to_the_local_date_and_takes_strings():
    data = changed(approvals__reject=[{"advisory": "DSA-1", "reason": "r", "expires": "2000-01-01"}])
    assert validate_policy(data)["approvals"]["reject"][0]["expired"] is True
    assert validate_policy(data, today="1999-12-31")["approvals"]["reject"][0]["expired"] is False
    with pytest.raises(ValueError, match=r"^today: expected a date"):
        validate_policy(data, today="soon")


def test_priority_section_goes_through_priority_validate_policy():
    result = validate_policy(changed(
        priority={"sla_days": {"high": 3}, "weights": {"internet_exposed": 0}},
        emergency={"cves": ["CVE-2026-7777"], "packages": ["libssl*"]},
    ), today=TODAY)
    assert result["priority"]["sla_days"]["high"] == 3
    assert result["priority"]["weights"]["internet_exposed"] == 0
    assert result["priority"]["emergency"] == {"cves": ["CVE-2026-7777"], "packages": ["libssl*"]}
    # priority.prioritise takes the section as it is.
    record = {"name": "libssl3", "classification": "bugfix", "severity": None, "cves": [], "first_seen": "2026-11-20",
              "effect": "upgrade"}
    rows = prioritise({"web01": [record]}, {}, result["priority"], TODAY)
    assert rows[0]["emergency"] is True and rows[0]["due"] == "2026-11-27"


def test_validation_does_not_change_its_input():
    data = load_policy(EXAMPLE)
    before = copy.deepcopy(data)
    validate_policy(data, today=TODAY)
    assert data == before


# ---------------------------------------------------------------------------
# Bad policies: one mistake each, its exact message, nothing else
# ---------------------------------------------------------------------------

BAD = [
    ("reboot-missing", changed(reboot=DELETE), "reboot: choose never, if_required or always"),
    ("reboot-unknown", changed(reboot="sometimes"),
     "reboot: 'sometimes' is not a choice: choose never, if_required or always"),
    ("reboot-bool-in-v2", changed(reboot=True),
     "reboot: true is not a choice: choose never, if_required or always (true/false was version 1)"),
    ("version-missing", changed(version=DELETE), "version: required (this format is version 2)"),
    ("version-newer", changed(version=3), "version: 3 is newer than this patchpilot knows (1 or 2)"),
    ("version-string", changed(version="2"), "version: expected 1 or 2, got '2'"),
    ("top-level-typo", changed(notifcations=[]), "notifcations: unknown key (did you mean notifications?)"),
    ("top-level-unknown", changed(colour="blue"),
     "colour: unknown key (known keys: version, change_ticket, approvers, approvals, windows, emergency, rollout, "
     "budget, reboot, restart_services, snapshot, health_checks, hooks, notifications, priority, scan, plan, "
     "automatic_updaters)"),
    ("v1-key-in-v2", changed(canary_percent=10), "canary_percent: a version 1 key: version 2 has rollout.canary.percent"),
    ("change-ticket-type", changed(change_ticket=["CHG-1"]), "change_ticket: expected a ticket id (a string), got a list"),
    ("approvers-type", changed(approvers="alice"), "approvers: expected a list of user or group names, got a string"),
    ("section-type", changed(rollout=["canary"]), "rollout: expected a mapping, got a list"),
    # windows
    ("timezone-unknown", changed(windows__timezone="Mars/Olympus"),
     "windows.timezone: 'Mars/Olympus' is not a known time zone (an IANA name such as Europe/Berlin)"),
    ("time-25", changed(windows__maintenance=[{"name": "n", "start": "25:00", "end": "02:00"}]),
     "windows.maintenance[0].start: expected a time \"HH:MM\" from 00:00 to 23:59, got '25:00'"),
    ("time-minutes-60", changed(windows__maintenance=[{"name": "n", "start": "01:00", "end": "12:60"}]),
     "windows.maintenance[0].end: expected a time \"HH:MM\" from 00:00 to 23:59, got '12:60'"),
    ("time-base-60-number", changed(windows__maintenance=[{"name": "n", "start": 90, "end": "03:00"}]),
     "windows.maintenance[0].start: expected a time \"HH:MM\", got the number 90 "
     "(quote the time: an unquoted 01:30 is a base-60 number in YAML 1.1)"),
    ("window-no-length", changed(windows__maintenance=[{"name": "n", "start": "02:00", "end": "02:00"}]),
     "windows.maintenance[0]: start and end are both 02:00; a window needs a length"),
    ("window-weekday", changed(windows__maintenance=[{"name": "n", "days": ["mon", "funday"], "start": "01:00",
                                                      "end": "02:00"}]),
     "windows.maintenance[0].days[1]: 'funday' is not a weekday (mon, tue, wed, thu, fri, sat, sun)"),
    ("window-name-twice", changed(windows__maintenance=[{"name": "n", "start": "01:00", "end": "02:00"},
                                                        {"name": "n", "start": "03:00", "end": "04:00"}]),
     "windows.maintenance[1].name: 'n' is already the name of windows.maintenance[0]"),
    ("window-unknown-key", changed(windows__maintenance=[{"name": "n", "start": "01:00", "end": "02:00",
                                                          "ends": "x"}]),
     "windows.maintenance[0].ends: unknown key (did you mean end?)"),
    ("freeze-backwards", changed(windows__freezes=[{"start": "2026-12-20", "end": "2026-12-01", "reason": "r"}]),
     "windows.freezes[0]: end 2026-12-01 is before start 2026-12-20"),
    ("freeze-no-reason", changed(windows__freezes=[{"start": "2026-12-20", "end": "2026-12-21"}]),
     "windows.freezes[0].reason: required (say why changes are frozen)"),
    ("freeze-bad-date", changed(windows__freezes=[{"start": "2026-02-30", "end": "2026-03-01", "reason": "r"}]),
     "windows.freezes[0].start: expected a date YYYY-MM-DD, got '2026-02-30'"),
    # budget
    ("budget-over-100", changed(budget__max_failed="150%"), "budget.max_failed: 150% is more than 100%"),
    ("budget-negative", changed(budget__max_failed=-1),
     "budget.max_failed: expected a number of hosts from 0 to 100000, or a percentage such as \"10%\", got -1"),
    ("budget-words", changed(budget__max_failed="a few"),
     "budget.max_failed: expected a number of hosts from 0 to 100000, or a percentage such as \"10%\", got 'a few'"),
    ("budget-unreachable-type", changed(budget__count_unreachable="no"),
     "budget.count_unreachable: expected true or false, got 'no'"),
    # scan
    ("scan-stale-index-word", changed(scan__stale_index="ignore"), "scan.stale_index: 'ignore' is not one of report, fail"),
    ("scan-stale-index-bool", changed(scan__stale_index=True), "scan.stale_index: true is not one of report, fail"),
    ("scan-type", changed(scan="fail"), "scan: expected a mapping, got a string"),
    # waves
    ("waves-short", changed(rollout__waves=["50%", "30%"]),
     "rollout.waves: the waves take 80%, which does not cover every host: "
     "end with \"rest\" or make the percentages add up to 100%"),
    ("waves-counts-only", changed(rollout__waves=[1, 5]),
     "rollout.waves: the waves take 6 hosts, which does not cover every host: "
     "end with \"rest\" or make the percentages add up to 100%"),
    ("waves-over-100", changed(rollout__waves=["25%", "100%"]),
     "rollout.waves: the percentages add up to 125%, more than 100% "
     "(each is one wave's own share, not a running total; end with \"rest\" for the remainder)"),
    ("waves-empty-after-100", changed(rollout__waves=["100%", "rest"]),
     "rollout.waves[1]: the waves before it already take 100% of the hosts, so this wave would be empty"),
    ("waves-rest-first", changed(rollout__waves=["rest", 5]), "rollout.waves[0]: \"rest\" must be the last wave"),
    ("waves-zero-hosts", changed(rollout__waves=[0, "rest"]), "rollout.waves[0]: a wave needs at least 1 host, got 0"),
    ("waves-zero-percent", changed(rollout__waves=["0%", "rest"]),
     "rollout.waves[0]: 0% is not a size: give 1% or more, or a number of hosts"),
    ("waves-one-over-100", changed(rollout__waves=["120%"]), "rollout.waves[0]: 120% is more than 100%"),
    ("waves-fraction", changed(rollout__waves=[2.5, "rest"]),
     "rollout.waves[0]: expected a number of hosts, a percentage such as \"25%\", or \"rest\", got 2.5"),
    ("waves-none", changed(rollout__waves=[]),
     "rollout.waves: expected a list of wave sizes (a number of hosts, a percentage such as \"25%\", or \"rest\"), "
     "got an empty list"),
    # canary, anti-affinity, numbers
    ("canary-two-kinds", changed(rollout__canary={"hosts": ["web01"], "group": "web"}),
     "rollout.canary: give exactly one of hosts, group or percent (got hosts, group)"),
    ("canary-percent-zero", changed(rollout__canary={"percent": 0}),
     "rollout.canary.percent: expected a percentage above 0 and at most 100, got 0"),
    ("canary-percent-150", changed(rollout__canary={"percent": "150%"}),
     "rollout.canary.percent: expected a percentage above 0 and at most 100, got '150%'"),
    ("canary-no-hosts", changed(rollout__canary={"hosts": []}), "rollout.canary.hosts: expected at least one host name"),
    ("anti-affinity-too-big", changed(rollout__anti_affinity=[["db01", "db02", "db03"]]),
     "rollout.anti_affinity[0]: 3 hosts at most 1 per wave need 3 waves, but the rollout has 1"),
    ("anti-affinity-one-host", changed(rollout__anti_affinity=[["db01"]]),
     "rollout.anti_affinity[0]: expected at least two hosts, got 1"),
    ("anti-affinity-twice", changed(rollout__anti_affinity=[["db01", "db01"]]),
     "rollout.anti_affinity[0]: a host is listed twice"),
    ("anti-affinity-group-key", changed(rollout__anti_affinity=[{"groups": "ha"}]),
     ["rollout.anti_affinity[0].groups: unknown key (did you mean group?)",
      "rollout.anti_affinity[0].group: required (an inventory group name)"]),
    ("max-per-wave-zero", changed(rollout__max_per_wave_per_group=0),
     "rollout.max_per_wave_per_group: expected a whole number from 1 to 100000, got 0"),
    ("parallel-words", changed(rollout__parallel="five"), "rollout.parallel: expected a whole number from 1 to 100000, got 'five'"),
    ("soak-negative", changed(rollout__soak_minutes=-5),
     "rollout.soak_minutes: expected a whole number of minutes from 0 to 10080, got -5"),
    # approvals
    ("auto-classification", changed(approvals__auto__classifications=["securty"]),
     "approvals.auto.classifications[0]: 'securty' is not one of security, bugfix, enhancement, other, third_party"),
    ("auto-severity", changed(approvals__auto__severities=["urgent"]),
     "approvals.auto.severities[0]: 'urgent' is not one of critical, high, medium, low"),
    ("auto-after-days", changed(approvals__auto__after_days=-1),
     "approvals.auto.after_days: expected null or a whole number of days from 0 to 3650, got -1"),
    ("approve-two-kinds", changed(approvals__approve=[{"package": "nginx", "cve": "CVE-2026-1111"}]),
     "approvals.approve[0]: give exactly one of package, cve or advisory (got package, cve)"),
    ("approve-nothing", changed(approvals__approve=[{"note": "why"}]),
     "approvals.approve[0]: give exactly one of package, cve or advisory"),
    ("reject-no-reason", changed(approvals__reject=[{"package": "nginx", "expires": "2099-01-01"}]),
     "approvals.reject[0].reason: required (say why it is rejected)"),
    ("reject-no-expiry", changed(approvals__reject=[{"package": "nginx", "reason": "r"}]),
     "approvals.reject[0].expires: required (the date YYYY-MM-DD after which the rejection lapses)"),
    ("reject-bad-expiry", changed(approvals__reject=[{"package": "nginx", "reason": "r", "expires": "next week"}]),
     "approvals.reject[0].expires: expected a date YYYY-MM-DD, got 'next week'"),
    ("reject-bad-cve", changed(approvals__reject=[{"cve": "CVE-12", "reason": "r", "expires": "2099-01-01"}]),
     "approvals.reject[0].cve: 'CVE-12' is not a CVE id (CVE-YYYY-NNNN)"),
    ("new-dependencies", changed(approvals__new_dependencies="some"),
     "approvals.new_dependencies: 'some' is not one of approved, any"),
    ("allow-removals-type", changed(approvals__allow_removals="yes"),
     "approvals.allow_removals: expected true or false, got 'yes'"),
    # emergency, restarts, snapshots, checks, hooks, notifications, priority
    ("emergency-cve", changed(emergency__cves=["heartbleed"]),
     "emergency.cves[0]: 'heartbleed' is not a CVE id (CVE-YYYY-NNNN)"),
    ("emergency-bypass-type", changed(emergency__bypass_windows="always"),
     "emergency.bypass_windows: expected true or false, got 'always'"),
    ("restart-services", changed(restart_services="sometimes"),
     "restart_services: expected true, false or flag, got 'sometimes'"),
    ("snapshot-default", changed(snapshot__default="zfs"),
     "snapshot.default: 'zfs' is not a snapshot provider (package, btrfs, lvm, aws_ebs, none)"),
    ("snapshot-group", changed(snapshot__groups={"db": "tape"}),
     "snapshot.groups.db: 'tape' is not a snapshot provider (package, btrfs, lvm, aws_ebs, none)"),
    ("health-port", changed(health_checks__ports=[70000]),
     "health_checks.ports[0]: expected a port number from 1 to 65535, got 70000"),
    ("health-load", changed(health_checks__load_factor=0),
     "health_checks.load_factor: expected a number above 0 and at most 1000, or null, got 0"),
    ("hook-unclosed-quote", changed(hooks__pre_host=["echo 'unclosed"]),
     "hooks.pre_host[0]: cannot split the command line: No closing quotation"),
    ("hook-empty", changed(hooks__post_wave=[""]),
     "hooks.post_wave[0]: expected a command line or a list of arguments, got ''"),
    ("notification-type", changed(notifications=[{"type": "sms", "target": "+49"}]),
     "notifications[0].type: 'sms' is not one of email, webhook, wall, log"),
    ("notification-email", changed(notifications=[{"type": "email", "target": "ops"}]),
     "notifications[0].target: 'ops' is not an email address"),
    ("notification-webhook", changed(notifications=[{"type": "webhook", "target": "ftp://example.com/x"}]),
     "notifications[0].target: 'ftp://example.com/x' is not an http:// or https:// URL"),
    ("notification-event", changed(notifications=[{"type": "log", "events": ["boot"]}]),
     "notifications[0].events[0]: 'boot' is not one of start, wave, reboot, failure, done"),
    ("priority-value", changed(priority__sla_days={"high": "soon"}),
     "priority.sla_days.high: expected a whole number of days from 0 to 3650, got 'soon'"),
    ("priority-typo", changed(priority__weight={}), "priority.weight: unknown key (did you mean weights?)"),
    ("priority-emergency", changed(priority__emergency={"cves": []}),
     "priority.emergency: emergency rules are set once, in the top-level emergency key"),
]


@pytest.mark.parametrize("data, message", [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_policy_gives_its_message_and_touches_nothing(data, message, no_side_effects):
    before = copy.deepcopy(data)
    assert errors_of(data) == (message if isinstance(message, list) else [message])
    assert data == before


def test_there_are_at_least_thirty_bad_cases():
    assert len(BAD) >= 30
    assert len({case[0] for case in BAD}) == len(BAD)


def test_every_error_is_listed_at_once():
    data = {
        "version": 2,
        "rebot": "never",
        "windows": {"timezone": "Europe/Atlantis",
                    "maintenance": [{"name": "late", "days": ["mon"], "start": "25:00", "end": "02:00"}]},
        "rollout": {"canary": {"percent": 0}, "waves": ["50%", "30%"], "parallel": 0},
        "budget": {"max_failed": "150%"},
        "approvals": {"reject": [{"package": "nginx"}]},
        "notifications": [{"type": "pager"}],
    }
    with pytest.raises(PolicyError) as caught:
        validate_policy(data, today=TODAY)
    expected = [
        "rebot: unknown key (did you mean reboot?)",
        "approvals.reject[0].reason: required (say why it is rejected)",
        "approvals.reject[0].expires: required (the date YYYY-MM-DD after which the rejection lapses)",
        "windows.timezone: 'Europe/Atlantis' is not a known time zone (an IANA name such as Europe/Berlin)",
        "windows.maintenance[0].start: expected a time \"HH:MM\" from 00:00 to 23:59, got '25:00'",
        "rollout.canary.percent: expected a percentage above 0 and at most 100, got 0",
        "rollout.waves: the waves take 80%, which does not cover every host: "
        "end with \"rest\" or make the percentages add up to 100%",
        "rollout.parallel: expected a whole number from 1 to 100000, got 0",
        "budget.max_failed: 150% is more than 100%",
        "reboot: choose never, if_required or always",
        "notifications[0].type: 'pager' is not one of email, webhook, wall, log",
    ]
    assert caught.value.errors == expected
    text = str(caught.value)
    assert text.splitlines() == ["the policy has 11 errors:"] + [f"- {e}" for e in expected]
    assert "Traceback" not in text


def test_not_a_mapping():
    assert errors_of(["version", 2]) == ["policy: expected a mapping of policy keys, got a list"]
    assert str(PolicyError(["reboot: choose never, if_required or always"])) == \
        "the policy has 1 error:\n- reboot: choose never, if_required or always"


def _fixture_comments(path: Path, tag: str) -> list:
    prefix = f"# {tag}: "
    return [line[len(prefix):].rstrip("\n") for line in path.read_text(encoding="utf-8").splitlines(True)
            if line.startswith(prefix)]


@pytest.mark.parametrize("path", sorted((FIXTURES / "bad").glob("*.yml")), ids=lambda p: p.name)
def test_bad_fixtures_give_their_messages(path, no_side_effects):
    expected = _fixture_comments(path, "expect")
    assert expected, f"{path.name} has no '# expect:' line"
    with pytest.raises(PolicyError) as caught:
        read_policy(path, today=TODAY)
    assert caught.value.errors == expected


# ---------------------------------------------------------------------------
# Migration
# ---------------------------------------------------------------------------

def test_migrate_v1_to_v2():
    v1 = {"version": 1, "canary_percent": 10, "waves": ["25%", "rest"], "reboot": True,
          "rollout": {"soak_minutes": 15}}
    before = copy.deepcopy(v1)
    data, notes = migrate(v1)
    assert data == {"version": 2, "reboot": "if_required",
                    "rollout": {"soak_minutes": 15, "canary": {"percent": 10}, "waves": ["25%", "rest"]}}
    assert notes == [
        "version 1 policy migrated to version 2",
        "canary_percent: 10 moved to rollout.canary.percent",
        "waves moved to rollout.waves",
        "reboot: true became reboot: if_required",
    ]
    assert v1 == before


def test_migrate_leaves_version_2_and_junk_alone():
    assert migrate(MINIMAL) == (MINIMAL, [])
    assert migrate(["not", "a", "policy"]) == (["not", "a", "policy"], [])
    assert migrate({"version": True, "reboot": True}) == ({"version": True, "reboot": True}, [])


def test_migrated_policy_validates_with_its_notes():
    result = validate_policy({"version": 1, "reboot": False, "canary_percent": 5}, today=TODAY)
    assert result["reboot"] == "never"
    assert result["rollout"]["canary"] == {"percent": 5}
    assert result["notes"] == ["version 1 policy migrated to version 2",
                               "canary_percent: 5 moved to rollout.canary.percent",
                               "reboot: false became reboot: never"]


def test_migration_conflict_is_an_error_with_the_notes_kept():
    with pytest.raises(PolicyError) as caught:
        validate_policy({"version": 1, "reboot": "never", "canary_percent": 5,
                         "rollout": {"canary": {"group": "web"}}}, today=TODAY)
    assert caught.value.errors == ["canary_percent: a version 1 key, but rollout.canary is set too: keep one"]
    assert caught.value.notes == ["version 1 policy migrated to version 2"]


def test_v1_without_reboot_still_has_to_choose():
    assert errors_of({"version": 1, "waves": ["rest"]}) == ["reboot: choose never, if_required or always"]


@pytest.mark.parametrize("path", sorted((FIXTURES / "v1").glob("*.yml")), ids=lambda p: p.name)
def test_v1_fixtures_migrate(path):
    result = read_policy(path, today=TODAY)
    assert result["version"] == 2
    assert result["notes"] == _fixture_comments(path, "note")


# ---------------------------------------------------------------------------
# Reading YAML
# ---------------------------------------------------------------------------

def test_load_policy_reads_unquoted_times_as_times():
    data = load_policy("version: 2\nreboot: never\nwindows:\n  maintenance:\n"
                       "    - {name: n, start: 01:30, end: 3:00}\n")
    assert data["windows"]["maintenance"][0]["start"] == "01:30"
    assert data["windows"]["maintenance"][0]["end"] == "3:00"
    assert validate_policy(data, today=TODAY)["windows"]["maintenance"][0]["end"] == "03:00"
    # Other numbers are still numbers.
    assert load_policy("a: 12\nb: 1.5\nc: 0x10\nd: 2026-12-01\ne: true\n") == {
        "a": 12, "b": 1.5, "c": 16, "d": date(2026, 12, 1), "e": True}


@pytest.mark.parametrize("text, errors", [
    ("version: 2\nreboot: [never\n",
     ["policy: line 3, column 1: expected ',' or ']', but got '<stream end>'"]),
    ("version: 2\n  reboot: never\n", ["policy: line 2, column 9: mapping values are not allowed here"]),
    ("version: 2\nreboot: never\nreboot: always\nrollout:\n  parallel: 1\n  parallel: 2\n",
     ["policy: line 3, column 1: duplicate key 'reboot'", "policy: line 6, column 3: duplicate key 'parallel'"]),
    ("", ["policy: the policy is empty"]),
    ("# nothing but a comment\n", ["policy: the policy is empty"]),
    ("- version: 2\n", ["policy: expected a mapping of policy keys, got a list"]),
    ("---\nversion: 2\n---\nversion: 1\n",
     ["policy: line 3, column 1: expected a single document in the stream, but found another document"]),
])
def test_load_policy_errors_have_line_and_column(text, errors):
    with pytest.raises(PolicyError) as caught:
        load_policy(text)
    assert caught.value.errors == errors


def test_load_policy_from_a_path(tmp_path):
    path = tmp_path / "policy.yml"
    path.write_text("version: 2\nreboot: always\n", encoding="utf-8")
    assert load_policy(path) == {"version": 2, "reboot": "always"}
    assert load_policy(str(path)) == {"version": 2, "reboot": "always"}
    path.write_text("version: 2\nversion: 2\n", encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert caught.value.errors == [f"{path}: line 2, column 1: duplicate key 'version'"]
    missing = tmp_path / "missing.yml"
    with pytest.raises(PolicyError) as caught:
        load_policy(str(missing))
    assert caught.value.errors == [f"{missing}: cannot read the policy: No such file or directory"]


# ---------------------------------------------------------------------------
# The JSON Schema
# ---------------------------------------------------------------------------

def _schema_validator():
    jsonschema = require_module("jsonschema")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _as_json(data):
    """What an editor's YAML 1.2 reader hands the schema: dates stay strings."""
    return json.loads(json.dumps(data, default=str))


VALID_FILES = [EXAMPLE] + sorted((FIXTURES / "valid").glob("*.yml"))


@pytest.mark.parametrize("path", VALID_FILES, ids=lambda p: p.name)
def test_schema_accepts_valid_policies(path):
    validator = _schema_validator()
    problems = [f"{'.'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(_as_json(load_policy(path)))]
    assert problems == []


@pytest.mark.parametrize("path", sorted((FIXTURES / "bad").glob("*.yml")), ids=lambda p: p.name)
def test_schema_rejects_bad_policies_it_can_tell(path):
    validator = _schema_validator()
    verdict = _fixture_comments(path, "schema")
    assert verdict in (["rejects"], ["accepts"]), f"{path.name} needs one '# schema: rejects|accepts' line"
    assert validator.is_valid(_as_json(load_policy(path))) is (verdict == ["accepts"])


@pytest.mark.parametrize("data", [case[1] for case in BAD if case[0] in {
    "reboot-missing", "reboot-unknown", "version-missing", "version-newer", "top-level-typo", "v1-key-in-v2",
    "time-25", "time-base-60-number", "budget-over-100", "budget-negative", "waves-zero-hosts",
    "waves-zero-percent", "waves-one-over-100", "canary-two-kinds", "canary-percent-zero", "anti-affinity-one-host",
    "auto-classification", "approve-two-kinds", "reject-no-expiry", "emergency-cve", "snapshot-group",
    "health-port", "notification-email", "notification-webhook", "priority-emergency",
}])
def test_schema_rejects_bad_cases_it_can_tell(data):
    assert not _schema_validator().is_valid(_as_json(data))


def _schema_keys(node: dict, defs: dict) -> dict:
    """{path: sorted keys} of every closed object in the schema, for the key check below."""
    found = {}

    def walk(item, path):
        if "$ref" in item:
            item = defs[item["$ref"].rsplit("/", 1)[1]]
        if item.get("type") == "object" and "properties" in item:
            found[path] = sorted(item["properties"])
            for key, sub in item["properties"].items():
                walk(sub, f"{path}.{key}" if path else key)

    walk(node, "")
    return found


def test_schema_and_validator_know_the_same_keys():
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    keys = _schema_keys(schema, schema["$defs"])
    assert keys[""] == sorted(policy_module._TOP_KEYS)
    assert keys["approvals"] == sorted(policy_module._APPROVALS_KEYS)
    assert keys["approvals.auto"] == sorted(policy_module._AUTO_KEYS)
    assert keys["emergency"] == sorted(policy_module._EMERGENCY_KEYS)
    assert keys["rollout"] == sorted(policy_module._ROLLOUT_KEYS)
    assert keys["rollout.canary"] == sorted(policy_module._CANARY_KEYS)
    assert keys["budget"] == sorted(policy_module._BUDGET_KEYS)
    assert keys["snapshot"] == sorted(policy_module._SNAPSHOT_KEYS)
    assert keys["health_checks"] == sorted(policy_module._HEALTH_KEYS)
    assert keys["hooks"] == sorted(policy_module.HOOKS)
    assert keys["priority"] == sorted(policy_module._PRIORITY_KEYS)
    assert keys["windows"] == ["freezes", "maintenance", "timezone"]
    # Defaults cover every key the validator returns.
    assert set(DEFAULTS) | {"reboot"} == set(policy_module._TOP_KEYS)


def test_docs_name_every_key():
    text = (REPO / "docs" / "policy.md").read_text(encoding="utf-8")
    for key in policy_module._TOP_KEYS + policy_module._ROLLOUT_KEYS + policy_module._APPROVALS_KEYS \
            + policy_module._HEALTH_KEYS + policy_module._BUDGET_KEYS + policy_module._EMERGENCY_KEYS:
        assert f"`{key}" in text or f"{key}`" in text, key


def test_scan_stale_index_is_report_unless_the_policy_says_fail():
    assert validate_policy(MINIMAL, today=TODAY)["scan"]["stale_index"] == "report"
    assert validate_policy(changed(scan__stale_index="fail"), today=TODAY)["scan"]["stale_index"] == "fail"
