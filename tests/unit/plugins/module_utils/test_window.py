"""module_utils/window.py window_verdict: is the host's maintenance window open now (and the filter)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ansible_collections.patchpilot.fleet.plugins.filter.window import FilterModule
from ansible_collections.patchpilot.fleet.plugins.module_utils.window import window_verdict

START, END = "2026-01-31T22:00:00+01:00", "2026-02-01T04:00:00+01:00"


def epoch(text):
    return int(datetime.fromisoformat(text).timestamp())


@pytest.mark.parametrize("now, ok", [
    (epoch("2026-01-31T20:59:59+00:00"), False),
    (epoch("2026-01-31T21:00:00+00:00"), True),   # the start is inside
    (epoch("2026-02-01T02:59:59+00:00"), True),
    (epoch("2026-02-01T03:00:00+00:00"), False),  # the end is not
])
def test_inside_from_the_start_up_to_the_end(now, ok):
    result = window_verdict(str(now), START, END)
    assert result["ok"] is ok and result["now_epoch"] == now and result["emergency"] is False
    when = datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert result["message"] == (f"window: now ({when}) is {'inside' if ok else 'outside'} the maintenance window "
                                 f"{START} - {END}" + ("" if ok else ", and this is not an emergency"))


@pytest.mark.parametrize("start, end", [
    ("2026-01-31T21:00:00Z", "2026-02-01T03:00:00Z"),
    ("2026-01-31T21:00:00", "2026-02-01T03:00:00"),          # no offset: UTC, as the gate reads it
    ("2026-01-31 21:00:00.5Z", "2026-02-01T04:00:00+0100"),
])
def test_the_times_are_read_as_the_rollout_gate_reads_them(start, end):
    assert window_verdict(epoch("2026-01-31T21:00:01+00:00"), start, end)["ok"] is True
    assert window_verdict(epoch("2026-02-01T03:00:01+00:00"), start, end)["ok"] is False


def test_an_emergency_bypasses_the_window():
    assert window_verdict(0, START, END, emergency=True) == {
        "ok": True, "emergency": True, "message": "window: bypassed, emergency change"}


@pytest.mark.parametrize("start, end", [("", END), (START, ""), (None, None)])
def test_no_window_is_not_checked(start, end):
    result = window_verdict(0, start, end)
    assert result["ok"] is True and result["skipped"] is True and "not checked" in result["message"]


@pytest.mark.parametrize("start, end, now, message", [
    ("tonight", END, 0, "window: the start 'tonight' is not an ISO 8601 time"),
    (START, "2026-13-01T00:00:00Z", 0, "window: the end '2026-13-01T00:00:00Z' is not an ISO 8601 time"),
    (START, END, "", "window: the host's clock could not be read"),
])
def test_what_cannot_be_read_fails_the_check_naming_it(start, end, now, message):
    result = window_verdict(now, start, end)
    assert result["ok"] is False and result["message"].startswith(message)


def test_the_filter_is_the_verdict():
    window_open = FilterModule().filters()["window_open"]
    assert window_open("1769893200", START, END) == window_verdict(1769893200, START, END)
