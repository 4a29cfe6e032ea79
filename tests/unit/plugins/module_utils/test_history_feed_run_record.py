"""history_feed.run_record: the run, who ran it and who approved it."""

from ansible_collections.patchpilot.fleet.plugins.module_utils.history_feed import run_record

RUN = {"format": 1, "run_id": "20261201T100000Z-abc123", "state": "failed", "started": "2026-12-01T10:00:00+00:00",
       "finished": "2026-12-01T11:00:00+00:00", "change_ticket": "CHG-1", "policy_digest": "sha256:aa",
       "scope": "inventory:/inv|limit:all", "halted": {"reason": "the canary failed (web01)", "at": "x"}}
PLAN = {"format": 2, "run_id": RUN["run_id"], "emergency": False, "change_ticket": "CHG-1",
        "approval": {"needed": True, "by": "alice", "at": "2026-12-01T09:00:00+00:00"},
        "hosts": [{"host": "web01"}, {"host": "db01"}], "settings": {"reboot": "if_required", "soak_minutes": 5}}
CONTEXT = {"user": "bob", "awx_job_id": "77", "awx_user": "bob", "project_commit": "a" * 40,
           "controller": "ctl1", "playbook": "/p/patch.yml", "inventory": ["/inv"], "secret": "never-copied",
           "policy_file": "/srv/policies/prod.yml"}


def test_the_run_record_names_the_run_and_its_people():
    record = run_record(RUN, PLAN, CONTEXT)
    assert record["kind"] == "run" and record["run_id"] == RUN["run_id"] and record["state"] == "failed"
    assert record["at"] == RUN["finished"]
    data = record["data"]
    assert (data["user"], data["approved_by"], data["awx_job_id"], data["project_commit"]) == \
        ("bob", "alice", "77", "a" * 40)
    assert (data["started"], data["finished"], data["change_ticket"], data["policy_digest"]) == \
        (RUN["started"], RUN["finished"], "CHG-1", "sha256:aa")
    assert data["hosts"] == ["db01", "web01"] and data["halted"] == "the canary failed (web01)"
    assert data["emergency"] is False and data["controller"] == "ctl1" and data["inventory"] == ["/inv"]
    # the policy: its file, its digest and the slice of it the run applied
    assert data["policy_file"] == "/srv/policies/prod.yml" and data["policy"] == PLAN["settings"]


def test_only_the_known_context_keys_are_kept():
    assert "secret" not in run_record(RUN, PLAN, CONTEXT)["data"]


def test_a_running_run_is_recorded_at_its_start_with_nobody_approving():
    running = dict(RUN, state="running", finished=None, halted=None)
    record = run_record(running, {k: v for k, v in PLAN.items() if k != "approval"}, {})
    assert record["at"] == RUN["started"] and record["state"] == "running"
    assert record["data"]["approved_by"] is None and record["data"]["halted"] is None
    assert record["data"]["project_commit"] is None
