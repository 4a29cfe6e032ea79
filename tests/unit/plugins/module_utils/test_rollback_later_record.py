"""rollback_later.later_record: the phase and detail a later rollback leaves in the run record."""

from __future__ import annotations

from ansible_collections.patchpilot.fleet.plugins.module_utils.rollback_later import later_record

BY = {"user": "ops", "job_id": "12"}


def test_versions_back_and_healthy_is_rolled_back():
    later = later_record({"versions_restored": True, "healthy": True, "provider": "package"}, BY, "the host's cache")
    assert later["phase"] == "rolled_back"
    assert later["detail"] == {"versions_restored": True, "healthy": True, "provider": "package", "later": True,
                               "by": {"user": "ops", "job_id": "12"}, "source": "the host's cache"}


def test_versions_back_but_unhealthy_is_still_rolled_back():
    later = later_record({"versions_restored": True, "healthy": False, "health_message": "x"}, BY, None)
    assert later["phase"] == "rolled_back" and later["detail"]["healthy"] is False


def test_versions_not_back_is_failed_and_never_healthy():
    later = later_record({"rollback_failed": True, "versions_restored": False, "healthy": True}, {}, "s")
    assert later["phase"] == "failed"
    assert later["detail"]["versions_restored"] is False and later["detail"]["healthy"] is False
    assert later["detail"]["by"] == {"user": None, "job_id": None}
    assert later_record({}, BY, None)["phase"] == "failed"  # a fact not said true is false
