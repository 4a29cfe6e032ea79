"""history_feed.read_run + run_records: a whole run directory into records."""

from datetime import date, datetime, timedelta, timezone

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils import history_records
from ansible_collections.patchpilot.fleet.plugins.module_utils.history_feed import read_run, reboot_times, run_records
from ansible_collections.patchpilot.fleet.plugins.module_utils.runrecord import RunDir, RunRecordError

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
RUN_ID = "20261201T100000Z-abc123"


def pkg(name, version):
    return {"name": name, "version": version, "from_version": "1.0-1", "effective_severity": "high",
            "cves": ["CVE-2026-0001"], "approved_by": "auto (security, high)"}


def make_plan():
    hosts = [
        {"host": "web01", "status": "rollout", "wave": 0, "packages": [pkg("openssl", "3.0-2")], "excluded": [],
         "refused": []},
        {"host": "app01", "status": "rollout", "wave": 1, "packages": [pkg("nginx", "1.2-2")],
         "excluded": [{"name": "legacy", "version": "2.0", "reason": "rejected (package legacy): x, until 2099-01-01",
                       "until": "2099-01-01"}], "refused": []},
        {"host": "db01", "status": "unscannable", "wave": None, "reason": "unreachable", "packages": [],
         "excluded": [], "refused": []},
        {"host": "gone01", "status": "rollout", "wave": 1, "packages": [pkg("curl", "8.0-2")], "excluded": [],
         "refused": []},
    ]
    return {"format": 2, "run_id": RUN_ID, "created": "2026-12-01T09:59:00+00:00", "change_ticket": "CHG-9",
            "policy_digest": "sha256:bb", "emergency": False, "hosts": hosts,
            "waves": [{"wave": 0, "canary": True, "hosts": ["web01"]},
                      {"wave": 1, "canary": False, "hosts": ["app01", "gone01"]}]}


def at(minutes):
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def run_dir(tmp_path):
    run = RunDir(str(tmp_path / "runs"), RUN_ID)
    run.start(make_plan(), ["web01", "app01", "gone01"], at=at(0))
    for i, phase in enumerate(("preflight", "staged", "snapshotted")):
        run.record("web01", phase, {"provider": "lvm", "id": "snap-1"} if phase == "snapshotted" else None, at=at(1 + i))
    run.record("web01", "patched", {"installed": {"openssl": "3.0-2"}}, at=at(5))
    run.record("web01", "verified", {}, at=at(6))
    run.record("web01", "done", {"installed": {"openssl": "3.0-2"}, "rebooted": True,
                                 "restart": {"fixed": True, "still_stale": []}}, at=at(7))
    run.keep_final("web01", {"installed": {"openssl": "3.0-2"}})
    run.record("app01", "staged", None, at=at(8))
    run.record("app01", "patched", {"installed": {"nginx": "1.2-2"}}, at=at(9))
    run.record("app01", "failed", {"message": "verify failed on app01: ports"}, at=at(10))
    run.record("app01", "rolled_back", {"ok": True}, at=at(11))
    run.keep_final("app01", {"installed": {"nginx": "1.0-1"}})
    run.mark_unreachable("gone01", "unreachable in wave 1", at=at(12))
    run.finish("failed", at=at(13))
    return run.path


def records_of(path, **context):
    return run_records(read_run(path), {"user": "bob", **context}, today=date(2026, 12, 1))


def test_a_run_directory_becomes_its_records(run_dir):
    records = records_of(run_dir)
    assert all(r["kind"] in history_records.KINDS for r in records)
    assert records[0]["kind"] == "run" and records[0]["state"] == "failed" and records[0]["data"]["user"] == "bob"
    hosts = {r["host"]: r for r in records if r["kind"] == "host"}
    assert {h: r["state"] for h, r in hosts.items()} == {
        "web01": "done", "app01": "rolled_back", "db01": "unreachable", "gone01": "unreachable"}
    assert all(r["state"] in history_records.HOST_RESULTS for r in hosts.values())
    web = hosts["web01"]["data"]
    assert web["canary"] is True and web["snapshot"] == {"provider": "lvm", "id": "snap-1"}
    assert web["versions"] == {"openssl": "3.0-2"} and web["reboots"] == [at(7).isoformat()]
    assert hosts["app01"]["data"]["error"] == "verify failed on app01: ports"
    assert hosts["db01"]["data"]["versions"] == {} and hosts["db01"]["data"]["unreachable"] is True


def test_each_update_reaches_its_states_at_its_phases_times(run_dir):
    records = records_of(run_dir)

    def states(host):
        return [(r["state"], r["at"]) for r in records if r["kind"] == "update" and r["host"] == host]

    created = "2026-12-01T09:59:00+00:00"
    assert states("web01") == [("missing", created), ("approved", created), ("downloaded", at(2).isoformat()),
                               ("tested", at(6).isoformat()), ("installed", at(5).isoformat()),
                               ("active", at(6).isoformat()), ("verified", at(6).isoformat())]
    app01 = [state for state, _at in states("app01")]
    assert app01 == ["missing", "approved", "downloaded", "installed", "failed", "rolled_back"]
    assert [state for state, _at in states("gone01")] == ["missing", "approved"]
    assert states("db01") == []
    update = next(r for r in records if r["kind"] == "update" and r["state"] == "failed")
    assert update["data"]["error"] == "verify failed on app01: ports" and update["data"]["severity"] == "high"
    # the person who approved (none here: the plan has no approval) apart from the policy's reason
    assert (update["data"]["approved_by"], update["data"]["approval"]) == (None, "auto (security, high)")
    assert all(r["state"] in history_records.LIFECYCLE for r in records if r["kind"] == "update")


def test_the_plans_exceptions_and_the_known_assets_are_recorded(run_dir):
    facts = {"web01": {"hostname": "web01", "os_distribution": "Debian", "os_version": "12", "machine_id": "m-w"}}
    records = records_of(run_dir, assets=facts, cmdb={"web01": {"location": "dc-east"}}, unreachable={})
    [asset] = [r for r in records if r["kind"] == "asset"]
    assert asset["host"] == "web01" and asset["data"]["location"] == "dc-east" and asset["run_id"] == RUN_ID
    assert {r["machine_id"] for r in records if r.get("host") == "web01"} == {"m-w"}
    [exception] = [r for r in records if r["kind"] == "exception"]
    assert (exception["host"], exception["package"], exception["state"]) == ("app01", "legacy", "rejected")


def test_a_host_the_callback_saw_unreachable_is_unreachable(tmp_path):
    run = RunDir(str(tmp_path / "runs"), RUN_ID)
    run.start(make_plan(), ["web01", "app01", "gone01"], at=at(0))
    run.record("app01", "staged", None, at=at(1))
    records = records_of(run.path, unreachable={"app01": at(2).isoformat()})
    hosts = {r["host"]: r for r in records if r["kind"] == "host"}
    assert hosts["app01"]["state"] == "unreachable" and hosts["app01"]["data"]["unreachable_at"] == at(2).isoformat()
    assert hosts["web01"]["state"] == "not_started"


def test_a_missing_run_directory_is_one_clear_error(tmp_path):
    with pytest.raises(RunRecordError, match="no run record"):
        read_run(str(tmp_path / "nothing"))


def test_a_reboot_is_dated_when_the_host_was_back_else_when_the_host_was_done():
    back = "2026-12-01T10:04:00+00:00"
    assert reboot_times({"rebooted": True, "rebooted_at": back}, "2026-12-01T10:09:00+00:00") == [back]
    assert reboot_times({"rebooted": True}, "2026-12-01T10:09:00+00:00") == ["2026-12-01T10:09:00+00:00"]
    assert reboot_times({"rebooted": False, "rebooted_at": back}, "2026-12-01T10:09:00+00:00") == []
    assert reboot_times({}, None) == []
