"""policy_schema: the JSON Schema is the policy's one description; its errors become the policy's messages."""

import json
from pathlib import Path

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils import policy as policy_module
from ansible_collections.patchpilot.fleet.plugins.module_utils import policy_schema as schema
from ansible_collections.patchpilot.fleet.plugins.module_utils.policy import DEFAULTS, LIMITS, validate_policy
from ansible_collections.patchpilot.fleet.plugins.module_utils.priority import MAX_DAYS, MAX_WEIGHT

REPO = Path(__file__).resolve().parents[4]
MINIMAL = {"version": 2, "reboot": "never"}


def test_the_schema_file_is_the_one_in_docs_and_ships_with_the_collection():
    assert Path(schema._ROOT, schema.SCHEMA_FILE).resolve() == (REPO / "docs" / "policy.schema.json").resolve()
    galaxy = (REPO / "galaxy.yml").read_text(encoding="utf-8")
    ignored = [line.strip()[2:].strip('"') for line in galaxy.split("build_ignore:", 1)[1].splitlines()
               if line.strip().startswith("- ")]
    assert not any(pattern in ("docs", "docs/*", "*.json", "docs/policy.schema.json") for pattern in ignored)


def test_defaults_come_from_the_schema():
    assert DEFAULTS["rollout"] == {"canary": None, "soak_minutes": 30, "waves": ["rest"], "max_per_wave_per_group": 1,
                                   "anti_affinity": [], "minutes_per_host": 10, "parallel": 5}
    assert DEFAULTS["plan"] == {"max_age_hours": 72} and DEFAULTS["automatic_updaters"] == "report"
    raw = json.loads((REPO / "docs" / "policy.schema.json").read_text(encoding="utf-8"))
    raw["properties"]["rollout"]["properties"]["parallel"]["default"] = 7
    schema._cache["schema"] = raw
    try:
        assert schema.defaults("rollout")["parallel"] == 7
    finally:
        schema._cache.clear()
    assert schema.defaults("rollout")["parallel"] == 5


def test_limits_come_from_the_schema_and_agree_with_priority():
    assert LIMITS == {"minutes": 10080, "days": 3650, "count": 100000, "seconds": 86400, "factor": 1000,
                      "weight": 1000, "hours": 8760}
    assert LIMITS["days"] == MAX_DAYS and LIMITS["weight"] == MAX_WEIGHT


def test_choices_and_keys_come_from_the_schema():
    assert policy_module.REBOOT_CHOICES == ("never", "if_required", "always")
    assert policy_module.HOOK_METHODS == ("GET", "POST", "PUT", "PATCH", "DELETE")
    assert policy_module.WEBHOOK_METHODS == ("POST", "PUT", "PATCH")
    assert policy_module.AUTOMATIC_UPDATERS == ("report", "pause")
    assert policy_module._EMAIL_KEYS == ("smtp_host", "smtp_port", "from", "secure", "username", "password_var")
    assert policy_module._WEBHOOK_KEYS == ("method", "headers", "auth", "url_var", "token_var", "token_header")


@pytest.mark.parametrize("value, expected", [
    ({"a": None, "b": {"c": None}}, {"b": {}}),
    ({"headers": {"X-A": None}}, {"headers": {"X-A": None}}),
    ({"body": {"n": None}}, {"body": {"n": None}}),
    ({True: "controller"}, {"on": "controller"}),
    ({"d": __import__("datetime").date(2026, 1, 2), "t": (1, 2)}, {"d": "2026-01-02", "t": [1, 2]}),
])
def test_as_json_null_takes_the_default(value, expected):
    assert schema.as_json(value) == expected


@pytest.mark.parametrize("data, expected", [
    # generic: a whole number with its unit and bounds, from the schema
    ({"plan": {"max_age_hours": 0}}, [(("plan", "max_age_hours"),
                                       "expected a whole number of hours from 1 to 8760, got 0")]),
    # 5.0 is no whole number (JSON Schema alone would take it)
    ({"rollout": {"parallel": 5.0}}, [(("rollout", "parallel"), "expected a whole number from 1 to 100000, got 5.0")]),
    # x-messages with {enum}
    ({"snapshot": {"default": "zfs"}}, [(("snapshot", "default"),
                                         "'zfs' is not a snapshot provider (package, btrfs, lvm, aws_ebs, none)")]),
    # a keyword:kind template
    ({"reboot": False}, [(("reboot",), "false is not a choice: choose never, if_required or always (true/false was "
                                       "version 1)")]),
    # exactly one of
    ({"rollout": {"canary": {"group": "a", "percent": 5}}},
     [(("rollout", "canary"), "give exactly one of hosts, group or percent (got group, percent)")]),
    # the anyOf branch the value means (x-match)
    ({"rollout": {"waves": ["0%", "rest"]}}, [(("rollout", "waves", 0),
                                               "0% is not a size: give 1% or more, or a number of hosts")]),
    # dependentRequired, at the dependent key
    ({"hooks": {"pre_wave": [{"url": "https://example.org/", "token_header": "X"}]}},
     [(("hooks", "pre_wave", 0, "token_header"), "only with token_var")]),
])
def test_problems_translate_schema_errors(data, expected):
    assert schema.problems({**MINIMAL, **data}) == expected


def test_blanks_and_case_are_forgiven_where_the_schema_says():
    assert schema.problems({**MINIMAL, "approvals": {"auto": {"severities": [" HIGH "]}}}) == []
    assert schema.problems({**MINIMAL, "rollout": {"waves": [" Rest "]}}) == []
    assert schema.problems({**MINIMAL, "automatic_updaters": "PAUSE"}) != []


def test_unknown_keys_sort_first_and_name_what_is_known():
    found = schema.problems({**MINIMAL, "rollout": {"parallell": 2}})
    assert found == [(("rollout", "parallell"), "unknown key (did you mean parallel?)")]
    assert schema.order(found[0][0]) < schema.order(("rollout", "canary"))


def test_without_jsonschema_the_check_says_what_is_missing(monkeypatch):
    monkeypatch.setattr(schema, "jsonschema", None)
    assert schema.problems(dict(MINIMAL)) == [((), "checking the policy needs the jsonschema Python library on the "
                                                   "controller (pip install jsonschema; the collection's "
                                                   "requirements list it)")]


def test_a_missing_schema_file_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(schema, "_ROOT", str(tmp_path))
    monkeypatch.setattr(schema, "_cache", {})
    with pytest.raises(schema.SchemaError, match="cannot read the policy schema"):
        schema.schema()


def test_hostile_values_never_raise():
    nasty = [None, True, 0, -1, 1e308, float("nan"), "", "\x00", "%" * 50, [], [[]], {}, {"": None}, {1: 2},
             {True: True}, "9" * 5000, object()]
    for value in nasty:
        for key in ("rollout", "hooks", "notifications", "budget", "approvals", "priority", "plan", "snapshot"):
            for inner in (value, {"x": value}, [value]):
                data = dict(MINIMAL, **{key: inner})
                try:
                    validate_policy(data, today="2026-11-27")
                except policy_module.PolicyError:
                    pass


def test_every_name_importers_use_is_still_in_policy():
    """policy.py keeps the public API (and the key tables the tests read) after its split."""
    for name in policy_module.__all__ + ["ITEM_KINDS", "NEW_DEPENDENCIES", "_TOP_KEYS", "_APPROVALS_KEYS",
                                         "_AUTO_KEYS", "_EMERGENCY_KEYS", "_ROLLOUT_KEYS", "_CANARY_KEYS",
                                         "_BUDGET_KEYS", "_SNAPSHOT_KEYS", "_HEALTH_KEYS", "_HTTP_CHECK_KEYS",
                                         "_COMMAND_CHECK_KEYS", "_HOOK_KEYS", "_NOTIFICATION_KEYS", "_EMAIL_KEYS",
                                         "_WEBHOOK_KEYS", "_PRIORITY_KEYS"]:
        assert hasattr(policy_module, name), name
    assert policy_module._TOP_KEYS[-2:] == ("plan", "automatic_updaters")
