"""report_model.update_verdict: an approved update is compliant only when it became active by its due date."""

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.report_model import update_verdict

T = "2026-11-{:02d}T10:00:00+00:00".format


@pytest.mark.parametrize("reached, latest, due, verdict, why", [
    ({"approved": T(1), "installed": T(2), "active": T(2)}, "active", "2026-11-05", "compliant", "active on 2026-11-02"),
    ({"approved": T(1), "installed": T(5), "active": T(5), "verified": T(5)}, "verified", "2026-11-05", "compliant",
     "due 2026-11-05"),  # active on the due date itself is in time
    ({"approved": T(1), "installed": T(6), "active": T(6)}, "active", "2026-11-05", "late", "after its due date"),
    ({"approved": T(1), "installed": T(2)}, "installed", "2026-11-05", "not_active", "still runs the old files"),
    ({"approved": T(1), "installed": T(2), "verified": T(2)}, "verified", "2026-11-05", "not_active",
     "still runs the old files"),  # verified but never active: a service still runs the old library
    ({"approved": T(1)}, "approved", "2026-11-05", "pending", "not installed yet"),
    ({"approved": T(1), "installed": T(2), "active": T(2), "rolled_back": T(2)}, "rolled_back", "2026-11-05",
     "rolled_back", "rolled back on 2026-11-02"),
    ({"approved": T(1), "downloaded": T(2), "failed": T(3)}, "failed", "2026-11-05", "failed", "failed on 2026-11-03"),
    ({"approved": T(1), "installed": T(9), "active": T(9)}, "active", None, "compliant", "active on 2026-11-09"),
    ({"approved": T(1), "installed": T(9), "active": T(9)}, "active", "not a date", "compliant", "active"),
])
def test_verdict(reached, latest, due, verdict, why):
    found, reason = update_verdict(reached, latest, due)
    assert found == verdict and why in reason
