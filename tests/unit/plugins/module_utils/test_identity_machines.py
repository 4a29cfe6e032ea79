"""identity.machines: a store's records grouped into machines (by machine id, by name without one)."""

from __future__ import annotations

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.identity import IdentityError, machines

A, B, C = "a" * 32, "b" * 32, "c" * 32


def rec(host, machine_id, day, kind="asset"):
    return {"kind": kind, "host": host, "machine_id": machine_id, "at": f"2026-11-{day:02d}T10:00:00+00:00"}


def by_key(found):
    return {m["machine"]: m for m in found}


def test_a_renamed_machine_is_one_machine_with_its_names():
    records = [rec("web01", A, 1), rec("db01", B, 1), rec("www01", A, 2), {"kind": "run", "at": "2026-11-02"},
               rec("www01", A, 3, kind="host")]
    found = machines(records)
    assert [m["machine"] for m in found] == [f"id:{A}", f"id:{B}"]  # oldest first
    web = found[0]
    assert web == {"machine": f"id:{A}", "machine_id": A, "host": "www01", "names": ["web01", "www01"],
                   "previous_names": ["web01"], "first_seen": "2026-11-01T10:00:00+00:00",
                   "last_seen": "2026-11-03T10:00:00+00:00", "records": [0, 2, 4], "replaces": None,
                   "replaced_by": None, "clone_suspected": False}
    assert found[1]["records"] == [1] and found[1]["previous_names"] == []


def test_a_reinstall_is_a_new_machine_that_replaces_the_old_one():
    found = by_key(machines([rec("web01", A, 1), rec("web01", A, 2), rec("web01", B, 3), rec("web01", C, 5)]))
    assert set(found) == {f"id:{A}", f"id:{B}", f"id:{C}"}
    assert found[f"id:{A}"]["records"] == [0, 1] and found[f"id:{B}"]["records"] == [2]
    assert (found[f"id:{A}"]["replaces"], found[f"id:{A}"]["replaced_by"]) == (None, f"id:{B}")
    assert (found[f"id:{B}"]["replaces"], found[f"id:{B}"]["replaced_by"]) == (f"id:{A}", f"id:{C}")
    assert (found[f"id:{C}"]["replaces"], found[f"id:{C}"]["replaced_by"]) == (f"id:{B}", None)
    assert all(m["names"] == ["web01"] for m in found.values())


def test_a_name_freed_by_a_rename_is_taken_not_replaced():
    found = by_key(machines([rec("web01", A, 1), rec("www01", A, 2), rec("web01", B, 3)]))
    assert found[f"id:{B}"]["replaces"] is None and found[f"id:{A}"]["replaced_by"] is None


def test_records_without_an_id_go_to_the_machine_that_carried_their_name_then():
    records = [rec("web01", None, 1),  # before the id was read: the first machine to carry the name after
               rec("web01", A, 2), rec("web01", None, 3),  # A's
               rec("web01", B, 4), rec("web01", None, 5),  # the reinstall's
               rec("db01", None, 1), rec("db01", None, 2)]  # never an id: known by name
    found = by_key(machines(records))
    assert found[f"id:{A}"]["records"] == [0, 1, 2]
    assert found[f"id:{B}"]["records"] == [3, 4]
    assert found["name:db01"]["records"] == [5, 6] and found["name:db01"]["machine_id"] is None
    assert found["name:db01"]["replaces"] is None


def test_one_id_under_two_names_in_turn_or_at_once_is_flagged_as_a_clone():
    turns = machines([rec("web01", A, 1), rec("web02", A, 2), rec("web01", A, 3)])
    assert len(turns) == 1 and turns[0]["clone_suspected"] is True
    at_once = machines([rec("web01", A, 1), rec("web02", A, 1)])
    assert at_once[0]["clone_suspected"] is True
    renamed = machines([rec("web01", A, 1), rec("web01", A, 2), rec("web02", A, 3), rec("web02", A, 4)])
    assert renamed[0]["clone_suspected"] is False


def test_no_records_no_machines():
    assert machines([]) == []
    assert machines([{"kind": "purge", "at": "2026-11-01T00:00:00"}]) == []


@pytest.mark.parametrize(("records", "message"), [
    ([rec("web01", A, 1), {"kind": "asset", "host": "web02", "machine_id": "nope", "at": "2026-11-01"}],
     r"^records\[1\]: machine_id 'nope' is not a machine id \(32 hex digits\)$"),
    ([{"kind": "asset", "host": "web01", "machine_id": A, "at": 20261101}],
     r"^records\[0\]: 'at' 20261101 is not an ISO 8601 time$"),
    ([{"kind": "asset", "machine_id": A, "at": "2026-11-01"}], r"^records\[0\]: 'host' is missing$"),
    ([{"kind": "asset", "host": "", "machine_id": A, "at": "2026-11-01"}], r"^records\[0\]: 'host' is missing$"),
    ([["web01", A]], r"^records\[0\]: expected a mapping, got list$"),
    (None, r"^records: expected a list of records, got NoneType$"),
])
def test_bad_records_are_one_clear_error(records, message):
    with pytest.raises(IdentityError, match=message):
        machines(records)
