"""module_utils/hooks.py: the hooks done on a host, which undos run, what stays (and the filters)."""

import json
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.patchpilot.fleet.plugins.filter import hooks as hooks_filter
from ansible_collections.patchpilot.fleet.plugins.filter.hooks import FilterModule
from ansible_collections.patchpilot.fleet.plugins.module_utils.hooks import (
    HooksStateError,
    after_undo,
    checked_done,
    record_done,
    undo_queue,
)

UNDRAIN = {"name": "undrain", "command": ["undrain"], "on": "host"}
ENABLE = {"name": "enable", "url": "https://lb.example.org/enable", "on": "controller"}


def entry(phase, name, undo=None):
    return {"phase": phase, "name": name, "undo": undo}


def test_a_new_hook_is_appended():
    done = record_done([], "pre_host", "drain", UNDRAIN)
    done = record_done(done, "pre_host", "note", None)
    assert done == [entry("pre_host", "drain", UNDRAIN), entry("pre_host", "note")]


def test_a_rerun_of_the_same_hooks_keeps_one_entry_each_in_their_order():
    first = record_done(record_done([], "pre_host", "drain", UNDRAIN), "pre_host", "note")
    # a rerun reads the state file and runs the host's hooks again
    again = record_done(record_done(first, "pre_host", "drain", UNDRAIN), "pre_host", "note")
    assert again == first
    assert undo_queue(again, "pre_host") == [entry("pre_host", "drain", UNDRAIN)]


def test_a_hook_run_again_takes_its_newest_undo_in_place():
    done = [entry("pre_host", "drain", UNDRAIN), entry("pre_host", "note")]
    assert record_done(done, "pre_host", "drain", ENABLE) == [entry("pre_host", "drain", ENABLE), entry("pre_host", "note")]


def test_the_same_name_in_another_phase_is_another_hook():
    done = record_done([entry("pre_host", "notify")], "post_host", "notify")
    assert done == [entry("pre_host", "notify"), entry("post_host", "notify")]


def test_a_state_file_with_a_hook_twice_is_made_unique_and_undone_once():
    # what the role wrote before entries were unique: the hook appended on every rerun
    written = [entry("pre_host", "drain", UNDRAIN), entry("pre_host", "drain", UNDRAIN), entry("pre_host", "drain", UNDRAIN)]
    assert undo_queue(written, "pre_host") == [entry("pre_host", "drain", UNDRAIN)]
    assert record_done(written, "pre_host", "drain", UNDRAIN) == [entry("pre_host", "drain", UNDRAIN)]


def test_undos_run_newest_first_within_the_scope_and_only_with_an_undo():
    done = [entry("pre_wave", "silence", UNDRAIN), entry("pre_host", "drain", UNDRAIN), entry("pre_host", "note"),
            entry("post_host", "enable", ENABLE)]
    assert [e["name"] for e in undo_queue(done, "pre_host")] == ["enable", "drain"]
    assert [e["name"] for e in undo_queue(done, "post_host")] == ["enable", "drain"]
    assert [e["name"] for e in undo_queue(done, "post_wave")] == ["silence"]
    assert after_undo(done, "pre_host") == [entry("pre_wave", "silence", UNDRAIN)]
    assert [e["name"] for e in after_undo(done, "pre_wave")] == ["drain", "note", "enable"]


def test_nothing_done_is_an_empty_list():
    assert checked_done(None) == [] and undo_queue(None, "pre_host") == [] and after_undo([], "post_wave") == []


@pytest.mark.parametrize(("done", "message"), [
    ("drain", "must be a list"),
    ({"phase": "pre_host"}, "must be a list"),
    ([["pre_host", "drain"]], "entry 0: expected a mapping"),
    ([entry("pre_host", "a"), {"phase": "pre_host", "undo": None}], "entry 1: 'name' must be a non-empty string"),
    ([entry("during", "drain")], "entry 0 ('drain'): hook phase 'during'"),
    ([entry("pre_host", "drain", ["undrain"])], "entry 0 ('drain'): 'undo' must be a hook or null"),
])
def test_a_malformed_list_is_one_error_naming_the_entry(done, message):
    with pytest.raises(HooksStateError, match=message.replace("(", r"\(").replace(")", r"\)")):
        undo_queue(done, "pre_host")


def test_a_bad_phase_or_name_is_refused():
    with pytest.raises(HooksStateError, match="hook phase 'host'"):
        record_done([], "host", "drain")
    with pytest.raises(HooksStateError, match="non-empty name"):
        record_done([], "pre_host", "")
    with pytest.raises(HooksStateError, match="'undo' must be a hook or null"):
        record_done([], "pre_host", "drain", "rm -f /run/x")


def test_the_filters_call_the_functions_and_turn_errors_into_filter_errors():
    filters = FilterModule().filters()
    assert set(filters) == {"hooks_record", "hooks_undo_queue", "hooks_forget"}
    done = filters["hooks_record"](filters["hooks_record"]([], "pre_host", "drain", UNDRAIN), "pre_host", "drain", UNDRAIN)
    assert done == [entry("pre_host", "drain", UNDRAIN)]
    assert filters["hooks_undo_queue"](done, "pre_host") == done
    assert filters["hooks_forget"](done, "post_host") == []
    # a state file read back from JSON is the same data
    assert filters["hooks_undo_queue"](json.loads(json.dumps(done)), "pre_host") == done
    for name, args in (("hooks_record", ([], "pre_host", "")), ("hooks_undo_queue", ("x", "pre_host")),
                       ("hooks_forget", ([], "wave"))):
        with pytest.raises(AnsibleFilterError, match=f"^{name}: "):
            filters[name](*args)


def test_every_filter_has_its_documentation_file():
    folder = Path(hooks_filter.__file__).parent
    assert {p.stem for p in folder.glob("hooks_*.yml")} == set(FilterModule().filters())
