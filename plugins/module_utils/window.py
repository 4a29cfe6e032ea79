# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Is a host's maintenance window open now? The preflight role's window check.

The window's times are read as the rollout gate reads a wave's planned start and end
(module_utils/rollout.py: ISO 8601, an offset or ``Z``, UTC without one), so that the host's
check and the wave's gate agree on what a window is. "Now" is the host's clock (seconds since
the epoch), read by the role.
"""

from __future__ import annotations

from datetime import datetime, timezone

# The gate's reading of an ISO time: one parser for the planned windows.
from ansible_collections.patchpilot.fleet.plugins.module_utils.rollout import _parse as _instant


def _epoch(text, what: str) -> int:
    try:
        value = _instant(str(text).strip())
    except ValueError as exc:
        raise ValueError(f"window: the {what} {text!r} is not an ISO 8601 time (2026-01-31T22:00:00+01:00)") from exc
    return int(value.timestamp())


def window_verdict(now, start="", end="", emergency=False) -> dict:
    """The window check's outcome at ``now`` (seconds since the epoch): {ok, message, ...}.

    An emergency bypasses the window; without a start or an end there is no window and the
    check is skipped; otherwise ``start <= now < end`` (whole seconds). A time that cannot be
    read fails the check with a message naming it.
    """
    if emergency:
        return {"ok": True, "emergency": True, "message": "window: bypassed, emergency change"}
    if not start or not end:
        return {"ok": True, "emergency": False, "skipped": True,
                "message": "window: no maintenance window given, not checked"}
    try:
        now = int(float(now))
    except (TypeError, ValueError):
        return {"ok": False, "emergency": False, "start": start, "end": end,
                "message": f"window: the host's clock could not be read (got {now!r})"}
    try:
        first, last = _epoch(start, "start"), _epoch(end, "end")
    except ValueError as exc:
        return {"ok": False, "emergency": False, "start": start, "end": end, "now_epoch": now, "message": str(exc)}
    inside = first <= now < last
    when = datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"ok": inside, "emergency": False, "start": start, "end": end, "now_epoch": now,
            "message": f"window: now ({when}) is {'inside' if inside else 'outside'} the maintenance window "
                       f"{start} - {end}" + ("" if inside else ", and this is not an emergency")}
