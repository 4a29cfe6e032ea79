"""identity.verdict: a new sighting of a host against what the store knows of it."""

from __future__ import annotations

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.identity import IdentityError, verdict

A, B, C = "a" * 32, "b" * 32, "c" * 32


def seen(host, machine_id, day):
    return {"host": host, "machine_id": machine_id, "at": f"2026-11-{day:02d}T10:00:00+00:00"}


def test_the_same_machine_under_the_same_name():
    got = verdict([seen("web01", A, 1), seen("web01", A, 2)], seen("web01", A, 3))
    assert got == {"verdict": "same", "machine": f"id:{A}", "host": "web01", "machine_id": A, "by": "machine_id",
                   "previous_names": [], "previous_machine_id": None}


def test_a_renamed_machine_keeps_its_history_and_lists_its_previous_names():
    known = [seen("web01", A, 1), seen("www01", A, 2), seen("db01", B, 2)]
    got = verdict(known, seen("frontend01", A, 3))
    assert (got["verdict"], got["machine"], got["previous_names"]) == ("renamed", f"id:{A}", ["web01", "www01"])
    # seen again under its new name: the same machine, its old names still listed
    again = verdict([*known, seen("frontend01", A, 3)], seen("frontend01", A, 4))
    assert (again["verdict"], again["previous_names"]) == ("same", ["web01", "www01"])


def test_back_to_an_old_name_is_a_rename_too():
    got = verdict([seen("web01", A, 1), seen("www01", A, 2)], seen("web01", A, 3))
    assert (got["verdict"], got["previous_names"]) == ("renamed", ["www01"])


def test_a_reinstalled_host_is_a_new_machine_with_the_old_name():
    known = [seen("web01", A, 1), seen("web01", A, 2)]
    got = verdict(known, seen("web01", B, 3))
    assert (got["verdict"], got["machine"], got["previous_machine_id"]) == ("reinstalled", f"id:{B}", A)
    assert got["previous_names"] == []
    # reinstalled twice: it replaces the last one
    twice = verdict([*known, seen("web01", B, 3)], seen("web01", C, 4))
    assert (twice["verdict"], twice["previous_machine_id"]) == ("reinstalled", B)


def test_a_new_id_under_a_name_freed_by_a_rename_is_new():
    known = [seen("web01", A, 1), seen("www01", A, 2)]
    got = verdict(known, seen("web01", B, 3))
    assert (got["verdict"], got["previous_machine_id"]) == ("new", None)


def test_a_new_machine():
    got = verdict([seen("web01", A, 1)], seen("db01", B, 2))
    assert (got["verdict"], got["machine"], got["by"]) == ("new", f"id:{B}", "machine_id")
    assert verdict([], seen("db01", B, 2))["verdict"] == "new"


def test_without_an_id_the_name_decides():
    known = [seen("web01", A, 1), seen("www01", A, 2)]
    got = verdict(known, seen("web01", None, 3))
    # the machine that carried the name: its history, its other names
    assert got == {"verdict": "same", "machine": f"id:{A}", "host": "web01", "machine_id": A, "by": "name",
                   "previous_names": ["www01"], "previous_machine_id": None}
    unknown = verdict(known, seen("db01", None, 3))
    assert (unknown["verdict"], unknown["machine"], unknown["machine_id"]) == ("new", "name:db01", None)
    by_name = verdict([seen("db01", None, 1)], seen("db01", None, 2))
    assert (by_name["verdict"], by_name["machine"]) == ("same", "name:db01")


def test_a_host_known_only_by_name_whose_id_is_now_read_is_the_same_machine():
    got = verdict([seen("web01", None, 1), seen("web01", None, 2)], seen("web01", A, 3))
    assert (got["verdict"], got["machine"], got["by"]) == ("same", f"id:{A}", "name")


def test_times_are_compared_as_times_not_text():
    # 11:00+02:00 is 09:00 UTC: before 10:00 UTC, so the later sighting is under www01
    known = [{"host": "web01", "machine_id": A, "at": "2026-11-01T11:00:00+02:00"},
             {"host": "www01", "machine_id": A, "at": "2026-11-01T10:00:00"}]
    assert verdict(known, seen("www01", A, 2))["verdict"] == "same"


def test_ids_are_compared_in_one_form():
    upper = "9072A86B-1AFD-8A53-C8E1-1517BF1C7207"
    got = verdict([seen("mac01", upper, 1)], seen("mac01", "9072a86b1afd8a53c8e11517bf1c7207", 2))
    assert (got["verdict"], got["machine_id"]) == ("same", "9072a86b1afd8a53c8e11517bf1c7207")


@pytest.mark.parametrize(("known", "sighting", "message"), [
    ([], {"machine_id": A, "at": "2026-11-01T00:00:00"}, r"^sighting: 'host' is missing$"),
    ([], {"host": "web01", "machine_id": "xyz", "at": "2026-11-01T00:00:00"},
     r"^sighting: machine_id 'xyz' is not a machine id \(32 hex digits\)$"),
    ([], {"host": "web01", "machine_id": A, "at": "yesterday"}, r"^sighting: 'at' 'yesterday' is not an ISO 8601 time$"),
    ([], {"host": "web01", "machine_id": A}, r"^sighting: 'at' is missing$"),
    ([{"host": "web01", "machine_id": A}], seen("web01", A, 1), r"^known\[0\]: 'at' is missing$"),
    ([{"machine_id": A, "at": "2026-11-01"}], seen("web01", A, 1), r"^known\[0\]: 'host' is missing$"),
    ("web01", seen("web01", A, 1), r"^known: expected a list of records, got str$"),
    ([], "web01", r"^sighting: expected a mapping, got str$"),
])
def test_bad_input_is_one_clear_error(known, sighting, message):
    with pytest.raises(IdentityError, match=message):
        verdict(known, sighting)
