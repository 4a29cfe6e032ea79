"""plancheck.age_verdict and max_age_hours: a reviewed plan older than plan.max_age_hours is refused."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.plancheck import age_verdict, max_age_hours

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


def plan(created):
    return {"format": 2, "created": created}


@pytest.mark.parametrize(("created", "ok", "age"), [
    ("2026-11-30T12:00:00+00:00", True, 0),
    ("2026-11-27T12:00:00+00:00", True, 72),           # exactly the limit is still fine
    ("2026-11-27T11:59:00+00:00", False, 72.02),
    ("2026-11-27T13:00:00+01:00", False, 72),           # 12:00 UTC: the offset counts
    ("2026-11-20T12:00:00", False, 240),                # no offset: UTC
])
def test_age_against_the_limit(created, ok, age):
    verdict = age_verdict(plan(created), NOW, 72 if created != "2026-11-27T13:00:00+01:00" else 71.5)
    assert verdict["ok"] is ok and verdict["age_hours"] == age and not verdict["replan"]


def test_a_stale_plan_is_refused_with_its_age_and_the_limit():
    verdict = age_verdict(plan("2026-11-25T12:00:00+00:00"), NOW, 72, where="/plans/r1.json")
    assert not verdict["ok"]
    assert "/plans/r1.json was made 120 hours ago" in verdict["message"]
    assert "plan.max_age_hours (72)" in verdict["message"] and "patchpilot_replan=true" in verdict["message"]


def test_replan_replaces_a_stale_plan():
    verdict = age_verdict(plan("2026-11-25T12:00:00+00:00"), NOW, 72, replan=True)
    assert verdict["replan"] and not verdict["ok"] and "a fresh plan replaces it" in verdict["message"]


@pytest.mark.parametrize("created", [None, "", "yesterday", 17])
def test_a_plan_without_a_readable_time_is_refused(created):
    verdict = age_verdict(plan(created), NOW, 72)
    assert not verdict["ok"] and verdict["age_hours"] is None and "no readable creation time" in verdict["message"]


def test_the_limit_defaults_to_72_hours():
    assert max_age_hours({}) == 72
    assert max_age_hours({"plan": {}}) == 72
    assert max_age_hours({"plan": {"max_age_hours": None}}) == 72
    assert max_age_hours({"plan": {"max_age_hours": 6}}) == 6
