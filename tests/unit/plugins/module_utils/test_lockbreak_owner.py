"""lockbreak.owner_user and break_record: who owns a lock, and the record of breaking it."""

from __future__ import annotations

from ansible_collections.patchpilot.fleet.plugins.module_utils.lockbreak import (break_record, describe_owner,
                                                                                 owner_user)


def test_the_awx_user_and_job_win_over_the_login_user():
    assert owner_user({"awx_user_name": "alice", "awx_job_id": 4711}, "runner") == {"user": "alice", "job_id": "4711"}
    assert owner_user({"tower_user_name": "bob", "tower_job_id": "12"}, "runner") == {"user": "bob", "job_id": "12"}
    assert owner_user({"awx_user_name": ""}, "runner") == {"user": "runner", "job_id": None}
    assert owner_user({}, None) == {"user": "unknown", "job_id": None}


def test_the_record_keeps_who_where_when_why_and_the_old_owner():
    owner = {"pid": 9, "host": "vanished-runner-7", "run_id": "r1", "user": "alice", "job_id": "4711"}
    lock = {"name": "k.lock", "key": "k", "path": "/b/locks/k.lock", "owner": owner}
    verdict = {"action": "break", "where": "another machine", "reason": "..."}
    record = break_record(lock, {"user": "ops", "job_id": None}, "ctl", "2026-12-06T10:00:00+00:00", " killed ", verdict)
    assert record == {"format": 1, "lock": "k.lock", "scope_key": "k", "broken_at": "2026-12-06T10:00:00+00:00",
                      "broken_by": {"user": "ops", "job_id": None, "host": "ctl"}, "reason": "killed",
                      "owner_where": "another machine", "owner": owner}
    record["owner"]["pid"] = 1
    assert owner["pid"] == 9  # a copy


def test_describe_names_the_user_and_job():
    assert describe_owner({"run_id": "r1", "user": "alice", "job_id": "7", "pid": 3, "host": "h",
                           "started": "s", "scope": "hosts:a"}) == \
        "run r1 by alice, AWX job 7: pid 3 on h, since s; scope hosts:a"
