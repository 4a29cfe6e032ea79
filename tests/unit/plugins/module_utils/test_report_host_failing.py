"""report_model.host_failing: a host's JUnit case fails when it is not compliant or its last run ended badly."""

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.report_model import host_failing


def host(result="done", approved=2, compliant=2, error=None):
    return {"host": "web1", "last_run": "run-9", "last_result": result, "last_error": error,
            "compliance": {"approved": approved, "compliant": compliant}}


@pytest.mark.parametrize("result", ["failed", "rolled_back", "unreachable", "abandoned"])
def test_a_bad_last_run_fails(result):
    assert f"last run run-9: {result.replace('_', ' ')} (boom)" in host_failing(host(result, error="boom"))


def test_not_compliant_fails():
    assert host_failing(host(compliant=1)) == "not compliant: 1 of 2 approved updates active within their SLA"


@pytest.mark.parametrize("result, approved, compliant", [
    ("done", 2, 2), ("done", 0, 0), (None, 0, 0), ("not_started", 1, 1)])
def test_compliant_host_with_a_good_or_no_run_passes(result, approved, compliant):
    assert host_failing(host(result, approved, compliant)) is None
