# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Maintenance windows and freezes: when patching may run.

The ``windows`` section of the policy (see policy.py), as
:func:`normal_windows` returns it (the policy checks it first)::

    {
        "timezone": "Europe/Berlin",          # IANA name; default UTC
        "maintenance": [                      # empty: patching may run at any time
            {"name": "nightly", "days": ["mon", "tue", "wed", "thu", "fri"],
             "start": "22:00", "end": "04:00"},
        ],
        "freezes": [                          # whole days, both ends included
            {"start": "2026-12-20", "end": "2027-01-06", "reason": "year-end freeze"},
        ],
    }

Reading a window
    ``days`` are the local weekdays on which the window *opens*. A window
    whose end is not after its start (22:00-04:00) crosses midnight and
    closes the next day; a start equal to the end is refused. The times are
    wall-clock times in ``timezone``, so a window keeps its local hours all
    year and its real length changes on the nights the clocks change: in
    Europe/Berlin 01:30-03:30 lasts one hour on the spring-forward night
    (02:00 CET becomes 03:00 CEST) and three on the fall-back night.

    A window opens at the first instant the local clock shows its start time
    (or a later one) and closes at the first instant after that at which the
    clock shows its end time (or a later one). A time the clock skips on a
    spring-forward night therefore means the moment of the jump; a time it
    shows twice on a fall-back night means its first occurrence. A window
    lying wholly inside a skipped hour does not open that night.

Freezes
    A freeze covers whole local days in ``timezone``, from 00:00 of its
    start day to 24:00 of its end day. :func:`frozen` tells whether a moment
    is frozen; :func:`next_window` and :func:`windows_between` leave frozen
    time out unless ``skip_frozen=False`` (an emergency allowed to bypass
    freezes). :func:`in_window` looks at windows only.

Times
    Every function takes aware datetimes (any zone) and returns aware
    datetimes in UTC. Do arithmetic in UTC: Python subtracts and compares two
    datetimes of the same zoneinfo zone by their wall-clock times, which is
    an hour off across a clock change.

Each function takes the validated ``windows`` section, a whole validated
policy (its ``windows`` key is used), or a ``windows`` section as written
(it is checked first, as the policy checks it; ValueError lists its problems).

Plain Python, no Ansible runtime.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "DEFAULT_TIMEZONE", "WEEKDAYS", "frozen", "in_window", "next_window", "parse_date", "parse_time",
    "normal_windows", "show_value", "unknown_keys", "window_occurrences", "windows_between", "zone_known",
]

#: Weekday names as the policy writes them, Monday first (date.weekday() order).
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_LONG_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEFAULT_TIMEZONE = "UTC"

_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: How far next_window looks ahead before it gives up (freezes can be long).
_HORIZON_DAYS = 3 * 366


# ---------------------------------------------------------------------------
# Checking the section
# ---------------------------------------------------------------------------

def show_value(value) -> str:
    """A value as a message shows it: strings quoted, YAML words for the rest."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return type(value).__name__


def unknown_keys(value: Mapping, known, path: str) -> list:
    """One "path.key: unknown key ..." message per key not in ``known``."""
    problems = []
    for key in value:
        if key in known:
            continue
        close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.75)
        hint = f"did you mean {close[0]}?" if close else f"known keys: {', '.join(known)}"
        problems.append(f"{path}.{key}: unknown key ({hint})" if path else f"{key}: unknown key ({hint})")
    return problems


def parse_time(value, *, allow_24=False) -> time | None:
    """A wall-clock time from "HH:MM" (or H:MM); None when it is not one.

    ``allow_24`` lets "24:00" through (as 00:00), for the end of a window.
    """
    if not isinstance(value, str):
        return None
    match = _TIME_RE.match(value.strip())
    if not match:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if allow_24 and (hours, minutes) == (24, 0):
        return time(0, 0)
    if hours > 23 or minutes > 59:
        return None
    return time(hours, minutes)


def parse_date(value) -> date | None:
    """A date from a date object or an ISO "YYYY-MM-DD" string; None when it is not one."""
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DATE_RE.match(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _zone(name) -> ZoneInfo | None:
    if not isinstance(name, str) or not name.strip():
        return None
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _day(value) -> str | None:
    if not isinstance(value, str):
        return None
    word = value.strip().lower()
    if word in WEEKDAYS:
        return word
    if word in _LONG_DAYS:
        return WEEKDAYS[_LONG_DAYS.index(word)]
    return None


def zone_known(name) -> bool:
    """True when ``name`` is an IANA time zone this machine knows."""
    return _zone(name) is not None


def normal_windows(section) -> dict:
    """The normal form of a ``windows`` section that the policy's schema and checks accepted.

    Weekdays as ``mon``..``sun`` in week order (every day when none are
    given), times as ``HH:MM`` (an end of 24:00 is 00:00), dates as ISO
    strings, names and reasons without surrounding blanks. The checking is
    the policy's (docs/policy.schema.json and the named checks in
    policy_checks); this only puts accepted values in one form.
    """
    section = section or {}
    timezone_name = section.get("timezone")
    result = {"timezone": timezone_name.strip() if isinstance(timezone_name, str) else DEFAULT_TIMEZONE,
              "maintenance": [], "freezes": []}
    for item in section.get("maintenance") or ():
        days = {_day(day) for day in item.get("days") or WEEKDAYS}
        result["maintenance"].append({
            "name": item["name"].strip(),
            "days": [day for day in WEEKDAYS if day in days],
            "start": f"{parse_time(item['start']):%H:%M}",
            "end": f"{parse_time(item['end'], allow_24=True):%H:%M}",
        })
    for item in section.get("freezes") or ():
        result["freezes"].append({"start": parse_date(item["start"]).isoformat(),
                                  "end": parse_date(item["end"]).isoformat(), "reason": item["reason"].strip()})
    return result


# ---------------------------------------------------------------------------
# From wall-clock times to instants
# ---------------------------------------------------------------------------

def _section(windows_policy) -> dict:
    """The validated windows section from a policy, a section, validated or as written."""
    if isinstance(windows_policy, Mapping) and ("version" in windows_policy or "windows" in windows_policy):
        windows_policy = windows_policy.get("windows")
    # The policy modules import this one: import them when a section is checked, not at import time.
    from ansible_collections.patchpilot.fleet.plugins.module_utils.policy import windows_section
    return windows_section(windows_policy)


def _aware(value, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError(f"{name}: expected a datetime, got {show_value(value)}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name}: expected a datetime with a time zone, got a naive one ({value.isoformat()})")
    return value.astimezone(timezone.utc)


def _instant(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The first instant (UTC) at which the local clock in ``zone`` shows ``clock`` on ``day`` or later.

    An ambiguous time (fall-back night) is its first occurrence (fold=0).
    A skipped time (spring-forward night) is the moment of the jump.
    """
    local = datetime.combine(day, clock)
    first = local.replace(tzinfo=zone, fold=0).astimezone(timezone.utc)
    if first.astimezone(zone).replace(tzinfo=None) == local:
        return first
    other = local.replace(tzinfo=zone, fold=1).astimezone(timezone.utc)
    low, high = min(first, other), max(first, other)
    # The jump lies in (low, high]: find the first second whose wall time is at or past `local`.
    lo, hi = 0, int((high - low).total_seconds())
    while lo < hi:
        middle = (lo + hi) // 2
        if (low + timedelta(seconds=middle)).astimezone(zone).replace(tzinfo=None) >= local:
            hi = middle
        else:
            lo = middle + 1
    return low + timedelta(seconds=lo)


def window_occurrences(windows_policy, day: date) -> list:
    """The windows that open on local date ``day``: ``[(start, end, name)]``, UTC, by start.

    Freezes are not applied. Windows lying wholly in a skipped hour are left out.
    """
    section = _section(windows_policy)
    return _occurrences(section, ZoneInfo(section["timezone"]), day)


def _occurrences(section: dict, zone: ZoneInfo, day: date) -> list:
    found = []
    weekday = WEEKDAYS[day.weekday()]
    for window in section["maintenance"]:
        if weekday not in window["days"]:
            continue
        start_clock, end_clock = parse_time(window["start"]), parse_time(window["end"], allow_24=True)
        end_day = day + timedelta(days=1) if end_clock <= start_clock else day
        start = _instant(day, start_clock, zone)
        end = _instant(end_day, end_clock, zone)
        if end > start:
            found.append((start, end, window["name"]))
    found.sort(key=lambda item: item[0])
    return found


def _freeze_spans(section: dict, zone: ZoneInfo) -> list:
    """Each freeze as ``(start, end, reason)`` in UTC: 00:00 of its first day to 24:00 of its last."""
    spans = []
    for freeze in section["freezes"]:
        first, last = date.fromisoformat(freeze["start"]), date.fromisoformat(freeze["end"])
        spans.append((_instant(first, time(0, 0), zone), _instant(last + timedelta(days=1), time(0, 0), zone),
                      freeze["reason"]))
    spans.sort(key=lambda item: item[0])
    return spans


def _subtract(start: datetime, end: datetime | None, spans: list) -> list:
    """The parts of [start, end) (end None: open) outside every span, in order."""
    pieces = [(start, end)]
    for span_start, span_end, _reason in spans:
        kept = []
        for piece_start, piece_end in pieces:
            if span_end <= piece_start or (piece_end is not None and span_start >= piece_end):
                kept.append((piece_start, piece_end))
                continue
            if span_start > piece_start:
                kept.append((piece_start, span_start))
            if piece_end is None or span_end < piece_end:
                kept.append((span_end, piece_end))
        pieces = kept
    return pieces


# ---------------------------------------------------------------------------
# Questions the planner asks
# ---------------------------------------------------------------------------

def in_window(windows_policy, when: datetime) -> tuple:
    """``(True, name)`` when ``when`` lies in a maintenance window, else ``(False, None)``.

    With no maintenance windows patching may run at any time: ``(True, None)``.
    Freezes are not looked at (see :func:`frozen`). The first window listed
    wins when several are open.
    """
    section = _section(windows_policy)
    moment = _aware(when, "when")
    if not section["maintenance"]:
        return True, None
    zone = ZoneInfo(section["timezone"])
    local_day = moment.astimezone(zone).date()
    # A window that opened up to two local days ago may still be open (DST makes one up to 25 hours).
    open_now = {name for offset in (2, 1, 0)
                for start, end, name in _occurrences(section, zone, local_day - timedelta(days=offset))
                if start <= moment < end}
    for window in section["maintenance"]:
        if window["name"] in open_now:
            return True, window["name"]
    return False, None


def frozen(windows_policy, when: datetime) -> str | None:
    """The reason of the freeze covering ``when`` (by its local date), or None."""
    section = _section(windows_policy)
    moment = _aware(when, "when")
    zone = ZoneInfo(section["timezone"])
    for start, end, reason in _freeze_spans(section, zone):
        if start <= moment < end:
            return reason
    return None


def next_window(windows_policy, after: datetime, *, skip_frozen: bool = True) -> tuple | None:
    """The window open at ``after``, or else the first one to open after it.

    Returns ``(start, end, name)`` in UTC; ``start`` is before ``after``
    when the window is already open (patch from ``max(start, after)``).
    With ``skip_frozen`` (the default) frozen time is cut out of windows,
    so a window that a freeze cuts short ends where the freeze begins and
    one that a freeze covers is skipped. Returns None when no window opens
    within three years.

    With no maintenance windows any time is a window: the result is
    ``(after, None, None)``, or with freezes the first unfrozen stretch,
    ``end`` being where the next freeze begins (None when none follows).
    """
    section = _section(windows_policy)
    moment = _aware(after, "after")
    zone = ZoneInfo(section["timezone"])
    spans = _freeze_spans(section, zone) if skip_frozen else []
    if not section["maintenance"]:
        for start, end in _subtract(moment, None, spans):
            return start, end, None
        return None  # pragma: no cover - an open stretch always remains after the last freeze
    local_day = moment.astimezone(zone).date()
    for offset in range(-2, _HORIZON_DAYS):
        for start, end, name in _occurrences(section, zone, local_day + timedelta(days=offset)):
            for piece_start, piece_end in _subtract(start, end, spans):
                if piece_end > moment:
                    return piece_start, piece_end, name
    return None


def windows_between(policy, start: datetime, end: datetime, *, skip_frozen: bool = True) -> list:
    """Every window open between ``start`` and ``end``: ``[(start, end, name)]`` in UTC, in order.

    Each is clipped to ``[start, end)``; frozen time is cut out unless
    ``skip_frozen`` is false. With no maintenance windows the whole range
    (less freezes) is one window named None.
    """
    section = _section(policy)
    first, last = _aware(start, "start"), _aware(end, "end")
    if last <= first:
        return []
    zone = ZoneInfo(section["timezone"])
    spans = _freeze_spans(section, zone) if skip_frozen else []
    if not section["maintenance"]:
        return [(s, e, None) for s, e in _subtract(first, last, spans)]
    found = []
    day = first.astimezone(zone).date() - timedelta(days=2)
    last_day = last.astimezone(zone).date()
    while day <= last_day:
        for occ_start, occ_end, name in _occurrences(section, zone, day):
            for piece_start, piece_end in _subtract(occ_start, occ_end, spans):
                clipped_start, clipped_end = max(piece_start, first), min(piece_end, last)
                if clipped_end > clipped_start:
                    found.append((clipped_start, clipped_end, name))
        day += timedelta(days=1)
    found.sort(key=lambda item: item[0])
    return found
