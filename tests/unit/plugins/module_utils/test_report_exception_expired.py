"""report_model.exception_expired: an exception runs out after its expiry date, or when the feed says so."""

from datetime import date

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.report_model import exception_expired

TODAY = date(2026, 12, 5)


@pytest.mark.parametrize("exception, expired", [
    ({"expires": "2026-12-04", "expired": False}, True),
    ({"expires": "2026-12-05", "expired": False}, False),  # the last day it holds
    ({"expires": "2027-01-31"}, False),
    ({"expires": None}, False),                            # no expiry: held until lifted
    ({"expires": "2027-01-31", "expired": True}, True),    # the feed knows better
    ({"expires": "2026-12-04T23:00:00+00:00"}, True),
    ({"expires": "soon"}, False),
])
def test_expired(exception, expired):
    assert exception_expired(exception, TODAY) is expired
