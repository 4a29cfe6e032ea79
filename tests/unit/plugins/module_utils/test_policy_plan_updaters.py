"""plan.max_age_hours and automatic_updaters: defaults, bounds, choices, the schema and the docs (issue #12)."""

import json
from pathlib import Path

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.policy import PolicyError, validate_policy
from support.skips import require_module

REPO = Path(__file__).resolve().parents[4]
MINIMAL = {"version": 2, "reboot": "never"}


def errors_of(data) -> list:
    with pytest.raises(PolicyError) as caught:
        validate_policy(data, today="2026-11-27")
    return caught.value.errors


def test_defaults_are_filled_in():
    result = validate_policy(MINIMAL, today="2026-11-27")
    assert result["plan"] == {"max_age_hours": 72}
    assert result["automatic_updaters"] == "report"


@pytest.mark.parametrize("hours", [1, 24, 8760])
def test_max_age_hours_is_kept(hours):
    result = validate_policy({**MINIMAL, "plan": {"max_age_hours": hours}}, today="2026-11-27")
    assert result["plan"]["max_age_hours"] == hours


@pytest.mark.parametrize("value", [0, -1, 8761, 2.5, "72", True])
def test_max_age_hours_out_of_range_or_not_a_number(value):
    assert errors_of({**MINIMAL, "plan": {"max_age_hours": value}}) == [
        f"plan.max_age_hours: expected a whole number of hours from 1 to 8760, got {json.dumps(value)}"
        if not isinstance(value, str) else f"plan.max_age_hours: expected a whole number of hours from 1 to 8760, "
                                           f"got '{value}'"]


def test_plan_section_shape():
    assert errors_of({**MINIMAL, "plan": {"max_age": 72}}) == [
        "plan.max_age: unknown key (known keys: max_age_hours)"]
    assert errors_of({**MINIMAL, "plan": 72}) == ["plan: expected a mapping, got a number"]


@pytest.mark.parametrize("value", ["report", "pause"])
def test_automatic_updaters_choices(value):
    assert validate_policy({**MINIMAL, "automatic_updaters": value}, today="2026-11-27")["automatic_updaters"] == value


@pytest.mark.parametrize("value, shown", [("stop", "'stop'"), (True, "true"), ("Pause", "'Pause'")])
def test_automatic_updaters_other_values(value, shown):
    assert errors_of({**MINIMAL, "automatic_updaters": value}) == [
        f"automatic_updaters: {shown} is not one of report, pause"]


def test_schema_describes_both_keys():
    jsonschema = require_module("jsonschema")
    schema = json.loads((REPO / "docs" / "policy.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({**MINIMAL, "plan": {"max_age_hours": 8760}, "automatic_updaters": "pause"})
    assert not validator.is_valid({**MINIMAL, "plan": {"max_age_hours": 8761}})
    assert not validator.is_valid({**MINIMAL, "automatic_updaters": "stop"})


def test_docs_describe_both_keys():
    text = (REPO / "docs" / "policy.md").read_text(encoding="utf-8")
    assert "`max_age_hours`" in text and "`automatic_updaters`" in text
