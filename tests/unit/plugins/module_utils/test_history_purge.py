"""history_purge.purge_before: the time a purge removes the records before, from keep_days or an explicit time."""

from datetime import datetime, timezone

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.history_purge import PurgeError, purge_before

NOW = datetime(2026, 12, 6, 13, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize("keep_days, before, expected", [
    (30, None, "2026-11-06T13:30:00+00:00"),
    ("365", None, "2025-12-06T13:30:00+00:00"),
    (None, "2026-01-31", "2026-01-31T00:00:00+00:00"),
    (None, "2026-01-31T02:00:00+02:00", "2026-01-31T00:00:00+00:00"),
    (None, "2026-12-06T13:30:00+00:00", "2026-12-06T13:30:00+00:00"),
])
def test_the_cutoff_in_utc(keep_days, before, expected):
    assert purge_before(keep_days, before, NOW) == expected


@pytest.mark.parametrize("keep_days, before, message", [
    (None, None, "give either patchpilot_history_keep_days"),
    (30, "2026-01-01", "not both"),
    (0, None, "keep at least 1 day"),
    (-5, None, "keep at least 1 day"),
    ("a year", None, "expected a whole number of days"),
    (True, None, "expected a whole number of days"),
    (None, "last month", "is not an ISO date"),
    (None, "2026-01-31T00:00:00", "give a time zone offset"),
    (None, "2026-12-07", "lies in the future"),
])
def test_a_purge_asked_for_badly_is_one_clear_error(keep_days, before, message):
    with pytest.raises(PurgeError, match=message):
        purge_before(keep_days, before, NOW)
