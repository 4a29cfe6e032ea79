"""local_fact.host_fact: the content of the fact a host carries about its last run."""

from __future__ import annotations

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.local_fact import LocalFactError, host_fact, revision

RUN_ID = "20261127T210000Z-a1b2c3"
NOW = "2026-11-27T22:00:00+00:00"
ENTRY = {"host": "web01", "packages": [{"name": "openssl"}, {"name": "libc6"}, {"name": "tzdata"}],
         "removals": [{"name": "old"}]}
ASSET = {"hostname": "web01", "machine_id": "d4d172059f264b615be86628ba82801e", "os_pretty_name": "Debian GNU/Linux 12 (bookworm)",
         "os_version": "12", "kernel": "6.1.0-27-amd64", "installed_packages": 180, "packages_digest": "sha256:" + "ab" * 32}


def record(*phases):
    """A host record whose history went through ``phases`` (phase, minute), the last one its phase."""
    history = [{"phase": p, "at": f"2026-11-27T21:{m:02d}:00+00:00", "detail": None} for p, m in phases]
    return {"format": 1, "host": "web01", "phase": history[-1]["phase"], "history": history}


@pytest.mark.parametrize(("phases", "result", "at"), [
    ((("pending", 0), ("snapshotted", 2), ("patched", 3), ("verified", 4), ("done", 5)), "done", "21:05"),
    # failed, then rolled back: the host is rolled back, since the rollback
    ((("pending", 0), ("patched", 3), ("failed", 4), ("rolled_back", 6)), "rolled_back", "21:06"),
    # failed in preflight (nothing changed), or its rollback failed
    ((("pending", 0), ("failed", 1)), "failed", "21:01"),
    # a detail added later (retention, an unreachable note) keeps the phase and its time
    ((("pending", 0), ("done", 5), ("done", 7), ("done", 9)), "done", "21:05"),
])
def test_a_host_whose_part_ended_gets_its_fact(phases, result, at):
    fact = host_fact(RUN_ID, record(*phases), ENTRY, ASSET, NOW)
    assert fact == {
        "format": 1, "run_id": RUN_ID, "host": "web01", "machine_id": "d4d172059f264b615be86628ba82801e",
        "at": f"2026-11-27T{at}:00+00:00", "result": result, "planned_packages": 3, "planned_removals": 1,
        "revision": {"os": "Debian GNU/Linux 12 (bookworm)", "os_version": "12", "kernel": "6.1.0-27-amd64",
                     "packages": 180, "packages_digest": "sha256:" + "ab" * 32}}


@pytest.mark.parametrize("phase", ["pending", "preflight", "staged", "snapshotted", "patched", "verified", "abandoned"])
def test_a_host_whose_part_has_not_ended_gets_none(phase):
    assert host_fact(RUN_ID, record(("pending", 0), (phase, 1)), ENTRY, ASSET, NOW) is None


def test_without_asset_facts_or_history_time_the_fact_says_what_it_knows():
    fact = host_fact(RUN_ID, {"host": "web01", "phase": "done", "history": []}, {"host": "web01", "packages": []},
                     None, NOW)
    assert fact["at"] == NOW and fact["machine_id"] is None
    assert fact["revision"] == dict.fromkeys(("os", "os_version", "kernel", "packages", "packages_digest"))
    assert (fact["planned_packages"], fact["planned_removals"]) == (0, 0)


def test_revision_level_is_read_from_the_asset_facts():
    assert revision(ASSET)["packages_digest"] == "sha256:" + "ab" * 32
    assert revision("not a mapping")["kernel"] is None


@pytest.mark.parametrize(("rec", "entry", "message"), [
    ("done", ENTRY, "must be mappings"),
    (record(("done", 1)), None, "must be mappings"),
    (record(("done", 1)), {"host": "web01", "packages": "openssl"}, "plan entry of web01: packages is not a list"),
])
def test_bad_input_is_one_clear_error(rec, entry, message):
    with pytest.raises(LocalFactError, match=message):
        host_fact(RUN_ID, rec, entry, ASSET, NOW)
