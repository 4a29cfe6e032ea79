"""report_model.is_overdue: not active, past its due date, and no live exception covers it."""

from datetime import date

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.report_model import is_overdue

TODAY = date(2026, 12, 5)


@pytest.mark.parametrize("verdict, due, excepted, overdue", [
    ("pending", "2026-12-04", False, True),
    ("missing", "2026-11-01", False, True),      # never approved, still past due
    ("not_active", "2026-12-01", False, True),   # installed but not active is not done
    ("rolled_back", "2026-12-01", False, True),
    ("pending", "2026-12-05", False, False),     # due today: not over yet
    ("pending", "2026-12-06", False, False),
    ("pending", "2026-11-01", True, False),      # a live exception covers it
    ("compliant", "2026-11-01", False, False),
    ("late", "2026-11-01", False, False),        # active, late: an SLA breach but no longer overdue
    ("pending", None, False, False),             # no SLA
])
def test_overdue(verdict, due, excepted, overdue):
    assert is_overdue(verdict, due, TODAY, excepted) is overdue
