"""Maintenance windows and freezes: in_window, next_window, frozen, windows_between, DST nights."""

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.maintenance import (
    frozen,
    in_window,
    next_window,
    normal_windows,
    window_occurrences,
    windows_between,
)
from ansible_collections.patchpilot.fleet.plugins.module_utils.policy import validate_policy, windows_section

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
H = timedelta(hours=1)


def at(zone, *args, fold=0):
    """An aware datetime from local wall-clock fields."""
    return datetime(*args, tzinfo=zone, fold=fold)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def section(zone="Europe/Berlin", *windows, freezes=()):
    return {"timezone": zone, "maintenance": list(windows), "freezes": list(freezes)}


def window(name, start, end, days=None):
    item = {"name": name, "start": start, "end": end}
    if days is not None:
        item["days"] = days
    return item


NIGHTLY = section("Europe/Berlin", window("weeknights", "22:00", "04:00", ["mon", "tue", "wed", "thu"]),
                  window("saturday", "06:00", "14:00", ["sat"]),
                  freezes=[{"start": "2026-12-19", "end": "2027-01-06", "reason": "year-end freeze"}])


# ---------------------------------------------------------------------------
# The section
# ---------------------------------------------------------------------------

def test_windows_section_normalises_and_fills_defaults():
    assert windows_section(None) == {"timezone": "UTC", "maintenance": [], "freezes": []}
    windows = windows_section({"timezone": "America/New_York", "maintenance": [
        {"name": " late ", "days": ["Sunday", "mon", "mon"], "start": "9:05", "end": "24:00"},
        {"name": "all week", "start": "01:00", "end": "02:00"},
    ], "freezes": [{"start": date(2026, 12, 24), "end": "2026-12-26", "reason": " holidays "}]})
    assert windows == {
        "timezone": "America/New_York",
        "maintenance": [
            {"name": "late", "days": ["mon", "sun"], "start": "09:05", "end": "00:00"},
            {"name": "all week", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "01:00",
             "end": "02:00"},
        ],
        "freezes": [{"start": "2026-12-24", "end": "2026-12-26", "reason": "holidays"}],
    }
    # The normal form is valid input again, and normal_windows leaves it as it is.
    assert windows_section(windows) == windows == normal_windows(windows)


def test_windows_section_lists_every_problem_from_the_schema_and_the_named_checks():
    with pytest.raises(ValueError) as caught:
        windows_section({
            "timezone": "Nowhere/Special",
            "maintenance": [{"days": [], "start": "24:00", "end": "7pm"}, "nightly",
                            {"name": "n", "start": 130, "end": "02:00"}, {"name": "n", "start": "3:00", "end": "03:00"}],
            "freezes": [{"start": "2026-12-01", "end": "tomorrow"},
                        {"start": "2026-12-09", "end": "2026-12-08", "reason": "r"}],
            "freeze": [],
        })
    assert str(caught.value) == "; ".join([
        "windows.freeze: unknown key (did you mean freezes?)",
        "windows.timezone: 'Nowhere/Special' is not a known time zone (an IANA name such as Europe/Berlin)",
        "windows.maintenance[0].name: required",
        "windows.maintenance[0].days: expected a list of weekdays (mon, tue, wed, thu, fri, sat, sun), got a list",
        "windows.maintenance[0].start: expected a time \"HH:MM\" from 00:00 to 23:59, got '24:00'",
        "windows.maintenance[0].end: expected a time \"HH:MM\" from 00:00 to 23:59, got '7pm'",
        "windows.maintenance[1]: expected a mapping with name, days, start and end, got 'nightly'",
        "windows.maintenance[2].start: expected a time \"HH:MM\", got the number 130 (quote the time: an unquoted "
        "01:30 is a base-60 number in YAML 1.1)",
        "windows.maintenance[3]: start and end are both 03:00; a window needs a length",
        "windows.maintenance[3].name: 'n' is already the name of windows.maintenance[2]",
        "windows.freezes[0].end: expected a date YYYY-MM-DD, got 'tomorrow'",
        "windows.freezes[0].reason: required (say why changes are frozen)",
        "windows.freezes[1]: end 2026-12-08 is before start 2026-12-09",
    ])


def test_functions_take_a_policy_a_section_or_a_raw_section():
    policy = validate_policy({"version": 2, "reboot": "never", "windows": NIGHTLY})
    when = at(BERLIN, 2026, 11, 30, 23, 0)  # a Monday
    assert in_window(policy, when) == in_window(NIGHTLY, when) == in_window(policy["windows"], when) \
        == (True, "weeknights")
    with pytest.raises(ValueError, match=r"^windows\.timezone: 'Mars' is not a known time zone"):
        in_window({"timezone": "Mars"}, when)


@pytest.mark.parametrize("function", [in_window, frozen, next_window])
def test_naive_datetimes_are_refused(function):
    with pytest.raises(ValueError, match=r"expected a datetime with a time zone, got a naive one"):
        function(NIGHTLY, datetime(2026, 11, 30, 23, 0))


# ---------------------------------------------------------------------------
# in_window
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("when, expected", [
    (at(BERLIN, 2026, 11, 30, 21, 59), (False, None)),        # Monday, before the window
    (at(BERLIN, 2026, 11, 30, 22, 0), (True, "weeknights")),  # opens on the minute
    (at(BERLIN, 2026, 12, 1, 3, 59), (True, "weeknights")),   # Tuesday morning: Monday's window
    (at(BERLIN, 2026, 12, 1, 4, 0), (False, None)),           # closes on the minute
    (at(BERLIN, 2026, 12, 4, 3, 0), (True, "weeknights")),    # Friday early: Thursday's window
    (at(BERLIN, 2026, 12, 4, 23, 0), (False, None)),          # no window opens on Friday
    (at(BERLIN, 2026, 11, 30, 3, 0), (False, None)),          # Monday early: Sunday opened none
    (at(BERLIN, 2026, 12, 5, 13, 59), (True, "saturday")),
    (utc(2026, 11, 30, 21, 30), (True, "weeknights")),        # 22:30 in Berlin, given in UTC
    (at(NEW_YORK, 2026, 11, 30, 16, 30), (True, "weeknights")),  # 22:30 in Berlin, given in New York time
])
def test_in_window(when, expected):
    assert in_window(NIGHTLY, when) == expected


def test_in_window_ignores_freezes_and_prefers_the_first_window_listed():
    christmas_eve = at(BERLIN, 2026, 12, 24, 23, 0)  # a Thursday, frozen
    assert in_window(NIGHTLY, christmas_eve) == (True, "weeknights")
    assert frozen(NIGHTLY, christmas_eve) == "year-end freeze"
    overlapping = section("UTC", window("b", "01:00", "05:00"), window("a", "02:00", "03:00"))
    assert in_window(overlapping, utc(2026, 11, 30, 2, 30)) == (True, "b")


def test_no_windows_means_any_time():
    assert in_window(section("UTC"), utc(2026, 11, 30, 12, 0)) == (True, None)
    assert next_window(section("UTC"), utc(2026, 11, 30, 12, 0)) == (utc(2026, 11, 30, 12, 0), None, None)


# ---------------------------------------------------------------------------
# DST: a window keeps its wall-clock hours, its real length changes
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("zone, night, hours, utc_start", [
    # Europe/Berlin: 2026-03-29 02:00 CET -> 03:00 CEST; 2026-10-25 03:00 CEST -> 02:00 CET.
    ("Europe/Berlin", date(2026, 3, 29), 1, utc(2026, 3, 29, 0, 30)),
    ("Europe/Berlin", date(2026, 10, 25), 3, utc(2026, 10, 24, 23, 30)),
    ("Europe/Berlin", date(2026, 3, 28), 2, utc(2026, 3, 28, 0, 30)),   # the night before: normal
    # America/New_York: 2026-03-08 02:00 EST -> 03:00 EDT; 2026-11-01 02:00 EDT -> 01:00 EST.
    ("America/New_York", date(2026, 3, 8), 1, utc(2026, 3, 8, 6, 30)),
    ("America/New_York", date(2026, 11, 1), 3, utc(2026, 11, 1, 5, 30)),
    ("America/New_York", date(2026, 11, 2), 2, utc(2026, 11, 2, 6, 30)),
])
def test_window_0130_0330_has_its_real_length_on_dst_nights(zone, night, hours, utc_start):
    windows = section(zone, window("night", "01:30", "03:30"))
    [(start, end, name)] = window_occurrences(windows, night)
    assert (start, end - start, name) == (utc_start, hours * H, "night")
    assert start.tzinfo is UTC and end.tzinfo is UTC


def test_fall_back_night_second_0230_is_inside_and_the_window_ends_at_the_later_0330():
    windows = section("Europe/Berlin", window("night", "01:30", "03:30"))
    second_0230 = at(BERLIN, 2026, 10, 25, 2, 30, fold=1)  # 01:30 UTC, after the clocks went back
    assert second_0230.astimezone(UTC) == utc(2026, 10, 25, 1, 30)
    assert in_window(windows, second_0230) == (True, "night")
    assert in_window(windows, utc(2026, 10, 25, 2, 29)) == (True, "night")   # 03:29 CET
    assert in_window(windows, utc(2026, 10, 25, 2, 30)) == (False, None)     # 03:30 CET


def test_spring_forward_skipped_start_opens_at_the_jump():
    windows = section("America/New_York", window("n", "02:30", "03:10"))
    [(start, end, _name)] = window_occurrences(windows, date(2026, 3, 8))
    assert start == at(NEW_YORK, 2026, 3, 8, 3, 0).astimezone(UTC)  # the clock jumps 02:00 -> 03:00
    assert end - start == timedelta(minutes=10)


def test_a_window_inside_the_skipped_hour_does_not_open_that_night():
    windows = section("Europe/Berlin", window("gap", "02:05", "02:55"))
    assert window_occurrences(windows, date(2026, 3, 29)) == []
    assert len(window_occurrences(windows, date(2026, 3, 30))) == 1


def test_ambiguous_start_is_the_first_occurrence():
    windows = section("America/New_York", window("n", "01:15", "01:45"))
    [(start, end, _name)] = window_occurrences(windows, date(2026, 11, 1))
    assert start == at(NEW_YORK, 2026, 11, 1, 1, 15, fold=0).astimezone(UTC)  # EDT, 05:15 UTC
    assert end - start == timedelta(minutes=30)


def test_crossing_midnight_over_a_dst_change():
    windows = section("Europe/Berlin", window("late", "23:00", "04:00", ["sat"]))
    [(start, end, _name)] = window_occurrences(windows, date(2026, 10, 24))   # into the fall-back night
    assert (start, end - start) == (utc(2026, 10, 24, 21, 0), 6 * H)
    [(start, end, _name)] = window_occurrences(windows, date(2026, 3, 28))    # into the spring-forward night
    assert (start, end - start) == (utc(2026, 3, 28, 22, 0), 4 * H)


def test_windows_between_over_a_dst_week_sums_real_hours():
    windows = section("Europe/Berlin", window("night", "01:30", "03:30"))
    found = windows_between(windows, at(BERLIN, 2026, 10, 22), at(BERLIN, 2026, 10, 29))
    assert [start.astimezone(BERLIN).date().day for start, _end, _name in found] == [22, 23, 24, 25, 26, 27, 28]
    assert sum((end - start for start, end, _name in found), timedelta()) == 15 * H  # 6 x 2 h + 3 h


# ---------------------------------------------------------------------------
# next_window, freezes, windows_between
# ---------------------------------------------------------------------------

def test_next_window_from_inside_returns_the_open_window():
    start, end, name = next_window(NIGHTLY, at(BERLIN, 2026, 12, 1, 1, 0))
    assert (start, end, name) == (at(BERLIN, 2026, 11, 30, 22, 0).astimezone(UTC),
                                  at(BERLIN, 2026, 12, 1, 4, 0).astimezone(UTC), "weeknights")


def test_next_window_from_outside_returns_the_next_one():
    assert next_window(NIGHTLY, at(BERLIN, 2026, 12, 4, 12, 0)) == (
        at(BERLIN, 2026, 12, 5, 6, 0).astimezone(UTC), at(BERLIN, 2026, 12, 5, 14, 0).astimezone(UTC), "saturday")
    # A window that has just closed is not returned.
    assert next_window(NIGHTLY, at(BERLIN, 2026, 12, 1, 4, 0))[0] == at(BERLIN, 2026, 12, 1, 22, 0).astimezone(UTC)


def test_next_window_skips_freezes_unless_told_not_to():
    before_freeze = at(BERLIN, 2026, 12, 18, 12, 0)  # Friday; the freeze starts Saturday 19th
    # Wednesday 6 January's window opens frozen; what is left of it starts at midnight.
    assert next_window(NIGHTLY, before_freeze) == (
        at(BERLIN, 2027, 1, 7, 0, 0).astimezone(UTC), at(BERLIN, 2027, 1, 7, 4, 0).astimezone(UTC), "weeknights")
    assert next_window(NIGHTLY, before_freeze, skip_frozen=False)[2] == "saturday"


def test_a_freeze_cuts_a_window_crossing_into_it_at_midnight():
    windows = section("Europe/Berlin", window("late", "22:00", "04:00"),
                      freezes=[{"start": "2026-12-02", "end": "2026-12-02", "reason": "audit"}])
    start, end, _name = next_window(windows, at(BERLIN, 2026, 12, 1, 12, 0))
    assert (start, end) == (at(BERLIN, 2026, 12, 1, 22, 0).astimezone(UTC), at(BERLIN, 2026, 12, 2).astimezone(UTC))
    # The window opening on the last frozen day resumes at midnight.
    start, end, _name = next_window(windows, at(BERLIN, 2026, 12, 2, 12, 0))
    assert (start, end) == (at(BERLIN, 2026, 12, 3).astimezone(UTC), at(BERLIN, 2026, 12, 3, 4, 0).astimezone(UTC))


def test_no_windows_with_a_freeze():
    windows = section("Europe/Berlin", freezes=[{"start": "2026-12-19", "end": "2027-01-06", "reason": "year end"}])
    after = at(BERLIN, 2026, 12, 20, 9, 0)
    assert next_window(windows, after) == (at(BERLIN, 2027, 1, 7).astimezone(UTC), None, None)
    before = at(BERLIN, 2026, 12, 1, 9, 0)
    assert next_window(windows, before) == (before.astimezone(UTC), at(BERLIN, 2026, 12, 19).astimezone(UTC), None)
    assert windows_between(windows, before, at(BERLIN, 2027, 1, 8)) == [
        (before.astimezone(UTC), at(BERLIN, 2026, 12, 19).astimezone(UTC), None),
        (at(BERLIN, 2027, 1, 7).astimezone(UTC), at(BERLIN, 2027, 1, 8).astimezone(UTC), None),
    ]


def test_next_window_gives_up_after_three_years():
    windows = section("UTC", window("n", "01:00", "02:00"),
                      freezes=[{"start": "2026-01-01", "end": "2030-12-31", "reason": "forever"}])
    assert next_window(windows, utc(2026, 6, 1)) is None


@pytest.mark.parametrize("when, reason", [
    (at(BERLIN, 2026, 12, 18, 23, 59), None),
    (at(BERLIN, 2026, 12, 19, 0, 0), "year-end freeze"),
    (utc(2026, 12, 18, 23, 30), "year-end freeze"),  # 00:30 on the 19th in Berlin
    (at(BERLIN, 2027, 1, 6, 23, 59), "year-end freeze"),
    (at(BERLIN, 2027, 1, 7, 0, 0), None),
])
def test_frozen_by_local_date(when, reason):
    assert frozen(NIGHTLY, when) == reason


def test_windows_between_lists_clipped_windows_in_order():
    found = windows_between(NIGHTLY, at(BERLIN, 2026, 12, 1, 2, 0), at(BERLIN, 2026, 12, 6))
    local = [(s.astimezone(BERLIN).strftime("%a %H:%M"), e.astimezone(BERLIN).strftime("%a %H:%M"), n)
             for s, e, n in found]
    assert local == [
        ("Tue 02:00", "Tue 04:00", "weeknights"),  # Monday's window, clipped to the start
        ("Tue 22:00", "Wed 04:00", "weeknights"),
        ("Wed 22:00", "Thu 04:00", "weeknights"),
        ("Thu 22:00", "Fri 04:00", "weeknights"),
        ("Sat 06:00", "Sat 14:00", "saturday"),
    ]
    assert windows_between(NIGHTLY, at(BERLIN, 2026, 12, 6), at(BERLIN, 2026, 12, 1)) == []


def test_windows_between_skips_frozen_time():
    found = windows_between(NIGHTLY, at(BERLIN, 2026, 12, 17), at(BERLIN, 2026, 12, 22))
    assert [(s.astimezone(BERLIN).isoformat(), e.astimezone(BERLIN).isoformat(), n) for s, e, n in found] == [
        ("2026-12-17T00:00:00+01:00", "2026-12-17T04:00:00+01:00", "weeknights"),  # Wednesday's, clipped
        ("2026-12-17T22:00:00+01:00", "2026-12-18T04:00:00+01:00", "weeknights"),
    ]  # Saturday 19th and Monday 21st are frozen
    unfrozen = windows_between(NIGHTLY, at(BERLIN, 2026, 12, 17), at(BERLIN, 2026, 12, 22), skip_frozen=False)
    assert [n for _s, _e, n in unfrozen] == ["weeknights", "weeknights", "saturday", "weeknights"]
