"""Issue #10 items 4-6: upper bounds and finite numbers, emergencies that name what they bypass for, secrets in URLs."""

import copy
from datetime import datetime, timezone

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.planner import PlanError, build_plan
from ansible_collections.patchpilot.fleet.plugins.module_utils.policy import LIMITS, PolicyError, validate_policy
from ansible_collections.patchpilot.fleet.plugins.module_utils.records import make_update

MINIMAL = {"version": 2, "reboot": "never"}
NAN, INF = float("nan"), float("inf")


def policy(**sections):
    data = copy.deepcopy(MINIMAL)
    data.update(copy.deepcopy(sections))
    return data


def errors_of(data) -> list:
    with pytest.raises(PolicyError) as caught:
        validate_policy(data, today="2026-11-27")
    return caught.value.errors


# ---------------------------------------------------------------------------
# Item 4: every number has an upper bound, and is finite
# ---------------------------------------------------------------------------

TOO_BIG = [
    ("minutes-per-host", {"rollout": {"minutes_per_host": 10 ** 30}},
     "rollout.minutes_per_host: expected a whole number of minutes from 1 to 10080, got 10000000000000000000000…"),
    ("soak", {"rollout": {"soak_minutes": 10081}},
     "rollout.soak_minutes: expected a whole number of minutes from 0 to 10080, got 10081"),
    ("after-days", {"approvals": {"auto": {"after_days": 10 ** 12}}},
     "approvals.auto.after_days: expected null or a whole number of days from 0 to 3650, got 1000000000000"),
    ("parallel", {"rollout": {"parallel": 100001}},
     "rollout.parallel: expected a whole number from 1 to 100000, got 100001"),
    ("per-group", {"rollout": {"max_per_wave_per_group": 10 ** 9}},
     "rollout.max_per_wave_per_group: expected a whole number from 1 to 100000, got 1000000000"),
    ("wave-hosts", {"rollout": {"waves": [10 ** 6, "rest"]}},
     "rollout.waves[0]: a wave has at most 100000 hosts, got 1000000"),
    ("wave-digits", {"rollout": {"waves": ["9" * 5000, "rest"]}},
     "rollout.waves[0]: a wave has at most 100000 hosts, got '9999999999999999999999…"),
    ("budget", {"budget": {"max_failed": 10 ** 6}},
     "budget.max_failed: expected a number of hosts from 0 to 100000, or a percentage such as \"10%\", got 1000000"),
    ("budget-digits", {"budget": {"max_failed": "9" * 5000}},
     "budget.max_failed: expected a number of hosts from 0 to 100000, or a percentage such as \"10%\", "
     "got '9999999999999999999999…"),
    ("budget-percent-digits", {"budget": {"max_failed": "9" * 400 + "%"}},
     "budget.max_failed: '9999999999999999999999… is more than 100%"),
    ("journal", {"health_checks": {"journal_errors_max": 10 ** 7}},
     "health_checks.journal_errors_max: expected null or a whole number from 0 to 100000, got 10000000"),
    ("hook-timeout", {"hooks": {"pre_host": [{"command": "true", "timeout": 10 ** 6}]}},
     "hooks.pre_host[0].timeout: expected a whole number of seconds from 1 to 86400, got 1000000"),
    ("http-timeout", {"health_checks": {"http": [{"url": "https://example.org/", "timeout": 86401}]}},
     "health_checks.http[0].timeout: expected a whole number of seconds from 1 to 86400, got 86401"),
    ("load", {"health_checks": {"load_factor": 1e6}},
     "health_checks.load_factor: expected a number above 0 and at most 1000, or null, got 1000000.0"),
    ("memory", {"health_checks": {"memory_factor": 5000}},
     "health_checks.memory_factor: expected a number above 1 and at most 1000, or null, got 5000"),
    ("sla", {"priority": {"sla_days": {"critical": 10 ** 12}}},
     "priority.sla_days.critical: expected a whole number of days from 0 to 3650, got 1000000000000"),
    ("weight", {"priority": {"weights": {"internet_exposed": 10 ** 9}}},
     "priority.weights.internet_exposed: expected a number from 0 to 1000, got 1000000000"),
]


@pytest.mark.parametrize("data, message", [case[1:] for case in TOO_BIG], ids=[case[0] for case in TOO_BIG])
def test_numbers_have_upper_bounds(data, message):
    assert errors_of(policy(**data)) == [message]


NOT_FINITE = [
    ("load-nan", {"health_checks": {"load_factor": NAN}}, "health_checks.load_factor"),
    ("load-inf", {"health_checks": {"load_factor": INF}}, "health_checks.load_factor"),
    ("memory-nan", {"health_checks": {"memory_factor": NAN}}, "health_checks.memory_factor"),
    ("canary-nan", {"rollout": {"canary": {"percent": NAN}}}, "rollout.canary.percent"),
    ("weight-nan", {"priority": {"weights": {"internet_exposed": NAN}}}, "priority.weights.internet_exposed"),
    ("weight-inf", {"priority": {"weights": {"severity": {"high": INF}}}}, "priority.weights.severity.high"),
    ("header-nan", {"notifications": [{"type": "webhook", "target": "https://example.org/h",
                                       "headers": {"X-Level": NAN}}]}, "notifications[0].headers.X-Level"),
    ("body-inf", {"hooks": {"pre_wave": [{"url": "https://example.org/h", "body": {"n": [INF]}}]}},
     "hooks.pre_wave[0].body"),
]


@pytest.mark.parametrize("data, path", [case[1:] for case in NOT_FINITE], ids=[case[0] for case in NOT_FINITE])
def test_nan_and_infinity_are_refused(data, path):
    errors = errors_of(policy(**data))
    assert len(errors) == 1 and errors[0].startswith(path + ":"), errors


@pytest.mark.parametrize("data, path", [
    ({"rollout": {"parallel": True}}, "rollout.parallel"),
    ({"health_checks": {"load_factor": True}}, "health_checks.load_factor"),
    ({"priority": {"weights": {"internet_exposed": True}}}, "priority.weights.internet_exposed"),
    ({"priority": {"sla_days": {"low": "²"}}}, "priority.sla_days.low"),
    ({"budget": {"max_failed": "²"}}, "budget.max_failed"),
    ({"rollout": {"waves": ["²", "rest"]}}, "rollout.waves[0]"),
])
def test_booleans_and_odd_digits_are_no_numbers(data, path):
    errors = errors_of(policy(**data))
    assert len(errors) == 1 and errors[0].startswith(path + ":"), errors


def test_the_bounds_themselves_are_accepted():
    result = validate_policy(policy(
        approvals={"auto": {"classifications": ["security"], "severities": ["critical"],
                            "after_days": LIMITS["days"]}},
        rollout={"soak_minutes": LIMITS["minutes"], "minutes_per_host": LIMITS["minutes"],
                 "parallel": LIMITS["count"], "max_per_wave_per_group": LIMITS["count"],
                 "waves": [LIMITS["count"], "rest"]},
        budget={"max_failed": LIMITS["count"]},
        health_checks={"journal_errors_max": LIMITS["count"], "load_factor": LIMITS["factor"],
                       "memory_factor": LIMITS["factor"]},
        priority={"sla_days": {"critical": LIMITS["days"]}, "weights": {"internet_exposed": LIMITS["weight"]}},
    ), today="2026-11-27")
    assert result["rollout"]["minutes_per_host"] == 10080 and result["approvals"]["auto"]["after_days"] == 3650


def test_long_values_are_quoted_by_a_short_prefix_only():
    secret = "s3cr3t-" * 100
    for data in ({"change_ticket": [secret]}, {"reboot": secret}, {"snapshot": {"default": secret}},
                 {"hooks": {"pre_host": [{"url": secret}]}}):
        for error in errors_of(policy(**data)):
            assert secret[:40] not in error, error


def _records(day="2016-11-01"):
    return [make_update(name=name, installed_version="1.0-1", candidate_version="1.1-1", arch="amd64",
                        classification="security", severity="critical", first_seen=day, released=day,
                        effect="upgrade", backend="apt").as_dict() for name in ("libssl3", "openssl")]


@pytest.mark.parametrize("hosts", [1, 30, 60])
def test_the_planner_takes_the_largest_accepted_values(hosts):
    """The maximum of every bound plans, or fails with a PlanError naming the policy key; never an overflow."""
    accepted = validate_policy(policy(
        approvals={"auto": {"classifications": ["security"], "severities": ["critical"],
                            "after_days": LIMITS["days"]}},
        rollout={"soak_minutes": LIMITS["minutes"], "minutes_per_host": LIMITS["minutes"], "parallel": 1,
                 "canary": {"percent": 100}, "max_per_wave_per_group": LIMITS["count"],
                 "waves": [LIMITS["count"], "rest"]},
        budget={"max_failed": LIMITS["count"]},
        priority={"sla_days": {severity: LIMITS["days"] for severity in ("critical", "high", "medium", "low")},
                  "weights": {"internet_exposed": LIMITS["weight"]}},
    ), today="2026-11-27")
    scan = {f"h{i:03d}": {"asset": {"criticality": "medium"}, "updates": _records()} for i in range(hosts)}
    now = datetime(2026, 11, 27, 20, 0, tzinfo=timezone.utc)
    try:
        plan = build_plan(accepted, scan, {}, now, run_id="20261127T200000Z-abc123")
    except PlanError as exc:
        # 60 hosts, one at a time, a week each: more than the year the planner looks ahead.
        assert hosts == 60 and exc.problems == [
            "windows: no room for wave 0 (614880 minutes) in the next 366 days "
            "(rollout.minutes_per_host, rollout.parallel)"]
    else:
        assert hosts < 60 and len(plan["hosts"]) == hosts
    # Released a long time ago, the far end of the date range: still no overflow.
    scan = {"h1": {"asset": {}, "updates": _records("9999-12-30")}}
    build_plan(accepted, scan, {}, now, run_id="20261127T200000Z-abc123")


# ---------------------------------------------------------------------------
# Item 5: emergencies
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("pattern", ["*", "**", "?*", "*?", "[a-z]*", " * "])
def test_an_emergency_for_everything_needs_allow_all(pattern):
    data = policy(emergency={"packages": ["openssl", pattern], "bypass_windows": True, "bypass_freezes": True})
    errors = errors_of(data)
    assert len(errors) == 1 and errors[0].startswith("emergency.packages[1]: ") and "allow_all: true" in errors[0]
    data["emergency"]["allow_all"] = True
    assert validate_policy(data, today="2026-11-27")["emergency"]["allow_all"] is True
    # Without bypass flags it still overrides every rejection: refused as well.
    assert errors_of(policy(emergency={"packages": [pattern]}))[0].startswith("emergency.packages[0]: ")


@pytest.mark.parametrize("pattern", ["openssl*", "lib*ssl*", "linux-image-*", "?ash"])
def test_an_emergency_for_some_packages_is_fine(pattern):
    result = validate_policy(policy(emergency={"packages": [pattern], "bypass_windows": True}), today="2026-11-27")
    assert result["emergency"]["packages"] == [pattern] and result["emergency"]["allow_all"] is False


@pytest.mark.parametrize("flags", [{"bypass_windows": True}, {"bypass_freezes": True},
                                   {"cves": [], "packages": [], "bypass_windows": True, "bypass_freezes": True}])
def test_an_emergency_naming_nothing_cannot_bypass(flags):
    errors = errors_of(policy(emergency=flags))
    assert errors == ["emergency: bypass_windows and bypass_freezes apply to an emergency update, but the emergency "
                      "names no CVE and no package: list them in emergency.cves or emergency.packages (or "
                      "run playbooks/emergency.yml, which names them for one run)"]


def test_allow_all_must_be_a_boolean():
    assert errors_of(policy(emergency={"allow_all": "yes"})) == [
        "emergency.allow_all: expected true or false, got 'yes'"]


# ---------------------------------------------------------------------------
# Item 6: secrets in URLs and headers; each target names the variable holding its own secret
# ---------------------------------------------------------------------------

def webhook(**options):
    return policy(notifications=[dict({"type": "webhook", "target": "https://chat.example.org/hook"}, **options)])


def url_hook(**options):
    return policy(hooks={"pre_wave": [dict({"url": "https://lb.example.org/drain"}, **options)]})


@pytest.mark.parametrize("query", ["token=abc", "api_key=abc", "apiKey=abc", "secret=abc", "password=x",
                                   "X-Amz-Signature=abc", "sig=abc", "access_token=abc", "a=1&auth=abc", "code=abc"])
def test_a_credential_in_a_query_is_refused_without_quoting_it(query):
    for data, path in ((webhook(target=f"https://chat.example.org/hook?{query}"), "notifications[0].target"),
                       (url_hook(url=f"https://lb.example.org/drain?{query}"), "hooks.pre_wave[0].url"),
                       (policy(health_checks={"http": [{"url": f"https://app.example.org/health?{query}"}]}),
                        "health_checks.http[0].url")):
        errors = errors_of(data)
        assert len(errors) == 1 and errors[0].startswith(f"{path}: the query parameter "), errors
        assert "url_var" in errors[0] and "abc" not in errors[0]


@pytest.mark.parametrize("header", ["Authorization", "X-Api-Key", "X-Auth-Token", "X-Hub-Signature", "Api-Key",
                                    "Cookie", "X-Secret", "Private-Token"])
def test_a_credential_header_is_refused_with_the_way_to_pass_it(header):
    for data, path in ((webhook(headers={header: "abc123"}), "notifications[0].headers"),
                       (url_hook(headers={header: "abc123"}), "hooks.pre_wave[0].headers")):
        errors = errors_of(data)
        assert errors == [f"{path}.{header}: looks like a credential: credentials do not belong in the policy "
                          "(it is plain text, reviewed and versioned); keep the value in a variable (Ansible Vault, "
                          f"an AWX credential or lookup('env', ...)) and name it: token_var: VARIABLE, "
                          f"token_header: {header}"]


def test_plain_headers_and_queries_pass():
    result = validate_policy(webhook(target="https://chat.example.org/hook?channel=ops&format=json",
                                     headers={"X-Team": "ops", "Content-Language": "en"}), today="2026-11-27")
    assert result["notifications"][0]["headers"] == {"X-Team": "ops", "Content-Language": "en"}


def test_each_webhook_and_url_hook_names_the_variable_with_its_secret():
    result = validate_policy(policy(
        notifications=[
            {"type": "webhook", "url_var": "chat_webhook_url"},
            {"type": "webhook", "target": "https://ops.example.org/events", "token_var": "ops_token",
             "token_header": "X-Api-Key"},
            {"type": "webhook", "target": "https://ops.example.org/b", "token_var": "ops_bearer"},
            {"type": "webhook", "target": "https://ops.example.org/c", "auth": "bearer"},
            {"type": "email", "target": "ops@example.org", "username": "pp", "password_var": "smtp_secret"},
        ],
        hooks={"pre_wave": [{"url_var": "lb_drain_url", "undo": {"url_var": "lb_enable_url"}},
                            {"url": "https://lb.example.org/x", "token_var": "lb_token"}]},
    ), today="2026-11-27")
    chat, keyed, bearer, legacy, mail = result["notifications"]
    assert chat["target"] is None and chat["url_var"] == "chat_webhook_url" and chat["token_var"] is None
    assert chat["label"] == "<chat_webhook_url>" and keyed["label"] == "https://ops.example.org/events"
    assert (keyed["token_var"], keyed["token_header"]) == ("ops_token", "X-Api-Key")
    assert (bearer["token_var"], bearer["token_header"]) == ("ops_bearer", "Authorization")
    assert legacy["auth"] == "bearer" and legacy["token_var"] is None and legacy["url_var"] is None
    assert mail["password_var"] == "smtp_secret"
    drain, keyed_hook = result["hooks"]["pre_wave"]
    assert drain["url"] is None and drain["url_var"] == "lb_drain_url" and drain["name"] == "POST <lb_drain_url>"
    assert drain["undo"]["url_var"] == "lb_enable_url"
    assert (keyed_hook["token_var"], keyed_hook["token_header"]) == ("lb_token", "Authorization")


@pytest.mark.parametrize("data, message", [
    (webhook(url_var="chat_url"), "notifications[0]: give exactly one of target or url_var (got both)"),
    (policy(notifications=[{"type": "webhook"}]), "notifications[0].target: required for a webhook notification "
                                                  "(or url_var: the variable holding the URL)"),
    (webhook(token_var="bad name"), "notifications[0].token_var: 'bad name' is not a variable name"),
    (webhook(token_header="X-Api-Key"), "notifications[0].token_header: only with token_var"),
    (webhook(token_var="t", auth="bearer"), "notifications[0].auth: bearer is the variable "
                                            "patchpilot_webhook_token: give auth or token_var, not both"),
    (url_hook(url_var="lb_url"), "hooks.pre_wave[0]: give exactly one of command, url or url_var (got url, url_var)"),
    (policy(hooks={"pre_host": [{"command": "true", "token_var": "t"}]}), "hooks.pre_host[0].token_var: only for a "
                                                                          "url hook"),
    (policy(notifications=[{"type": "email", "target": "a@example.org", "password_var": "p"}]),
     "notifications[0].password_var: only with username"),
    (policy(notifications=[{"type": "log", "url_var": "u"}]), "notifications[0].url_var: unknown key (known keys: "
                                                              "type, target, events)"),
])
def test_bad_secret_variables(data, message):
    assert errors_of(data) == [message]
