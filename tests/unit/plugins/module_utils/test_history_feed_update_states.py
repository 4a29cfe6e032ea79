"""history_feed.update_states: the lifecycle states a planned update reached, at the phase's time."""

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.history_feed import stale_after_restart, update_states

PLANNED = "2026-12-01T09:00:00+00:00"
PACKAGE = {"name": "openssl", "version": "3.0.15-1", "from_version": "3.0.14-1"}


def at(minute):
    return f"2026-12-01T10:{minute:02d}:00+00:00"


def history(*phases, installed="3.0.15-1", restart=None, failure="verify failed on web01: ports"):
    entries = []
    for i, phase in enumerate(phases):
        detail = None
        if phase == "patched":
            detail = {"installed": {"openssl": installed} if installed else {}, "rc": 0}
        elif phase == "done":
            detail = {"installed": {"openssl": installed}, "rebooted": False, "restart": restart}
        elif phase == "failed":
            detail = {"message": failure, "step": "verify"}
        entries.append({"phase": phase, "at": at(i), "detail": detail})
    return entries


def states(found):
    return [state for state, _at in found]


def test_a_patched_verified_update_reaches_every_state_in_order():
    found = update_states(PACKAGE, history("pending", "preflight", "staged", "snapshotted", "patched", "verified",
                                           "done"), None, PLANNED)
    assert found == [("missing", PLANNED), ("approved", PLANNED), ("downloaded", at(2)), ("installed", at(4)),
                     ("active", at(5)), ("verified", at(5))]


def test_on_a_canary_a_verified_update_was_tested_there():
    found = update_states(PACKAGE, history("pending", "staged", "patched", "verified", "done"), None, PLANNED,
                          canary=True)
    assert states(found) == ["missing", "approved", "downloaded", "tested", "installed", "active", "verified"]
    assert dict(found)["tested"] == at(3)


def test_an_update_the_host_does_not_have_at_its_version_is_not_installed():
    found = update_states(PACKAGE, history("pending", "staged", "patched", "verified", "done", installed="3.0.14-1"),
                          None, PLANNED)
    assert states(found) == ["missing", "approved", "downloaded"]


def test_without_the_patch_read_back_the_final_read_back_decides():
    entries = history("pending", "staged", "patched", "verified", "done", installed=None)
    assert "installed" in states(update_states(PACKAGE, entries, {"installed": {"openssl": "3.0.15-1"}}, PLANNED))
    assert "installed" not in states(update_states(PACKAGE, entries, {"installed": {}}, PLANNED))


def test_a_service_still_running_old_files_keeps_the_update_from_active():
    stale = {"mode": "flag", "still_stale": ["nginx.service"], "still_stale_processes": [123], "fixed": False}
    found = update_states(PACKAGE, history("pending", "staged", "patched", "verified", "done", restart=stale),
                          None, PLANNED)
    assert states(found) == ["missing", "approved", "downloaded", "installed", "verified"]


def test_a_failed_and_rolled_back_host_ends_its_updates_so():
    found = update_states(PACKAGE, history("pending", "staged", "snapshotted", "patched", "failed", "rolled_back"),
                          None, PLANNED)
    assert found[-3:] == [("installed", at(3)), ("failed", at(4)), ("rolled_back", at(5))]
    assert "verified" not in states(found) and "active" not in states(found)


def test_a_host_that_failed_its_preflight_fails_its_updates_unstaged():
    found = update_states(PACKAGE, history("pending", "preflight", "failed"), None, PLANNED)
    assert states(found) == ["missing", "approved", "failed"]


def test_a_host_not_started_has_its_updates_missing_and_approved():
    assert states(update_states(PACKAGE, history("pending"), None, PLANNED)) == ["missing", "approved"]


@pytest.mark.parametrize("restart, stale", [
    (None, None),
    ({"fixed": True, "still_stale": []}, False),
    ({"fixed": False, "still_stale": []}, True),
    ({"still_stale": ["a.service"]}, True),
    ({"still_stale": [], "still_stale_processes": []}, False),
])
def test_stale_after_restart_reads_the_restart_roles_result(restart, stale):
    assert stale_after_restart(history("pending", "patched", "verified", "done", restart=restart)) is stale


def test_nothing_recorded_by_the_restart_role_tells_nothing():
    assert stale_after_restart(history("pending", "patched", "failed")) is None
