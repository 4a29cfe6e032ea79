"""rollback_check.rollback_record: what is recorded with a rolled back host, its two facts apart."""

from __future__ import annotations

from ansible_collections.patchpilot.fleet.plugins.module_utils.rollback_check import rollback_record

RESULT = {"ok": True, "provider": "package", "versions_restored": True, "differences": []}


def test_versions_back_and_healthy():
    detail = rollback_record(RESULT, None, [{"check": "ignored"}])
    assert detail == {**RESULT, "healthy": True, "health_message": None, "failed_checks": []}


def test_versions_back_but_unhealthy_keeps_both_facts_and_the_failed_checks():
    detail = rollback_record(RESULT, "service pplab-web is not running", [{"check": "service:pplab-web"}])
    assert detail["versions_restored"] is True and detail["healthy"] is False
    assert detail["health_message"] == "service pplab-web is not running"
    assert detail["failed_checks"] == [{"check": "service:pplab-web"}]


def test_a_result_saying_not_restored_is_kept_and_a_missing_result_counts_as_restored():
    assert rollback_record({**RESULT, "versions_restored": False})["versions_restored"] is False
    assert rollback_record(None) == {"versions_restored": True, "healthy": True, "health_message": None,
                                     "failed_checks": []}


def test_the_input_is_not_changed():
    result = dict(RESULT)
    rollback_record(result, "down")
    assert result == RESULT
