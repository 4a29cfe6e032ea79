# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Purge by age: which time a purge of the history store removes records before.

The purge itself is :meth:`history_store.Store.purge` (the range removed and the
new anchor recorded in the chain, who and why with it); this decides the cutoff
from what the person running it asked: ``keep_days`` (keep that many days back
from now) or an explicit ``before`` (an ISO date or time), exactly one of them.

Plain Python, no Ansible runtime.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

__all__ = ["PurgeError", "purge_before"]


class PurgeError(ValueError):
    """A purge asked for in a way that cannot be done; the message says why."""


def purge_before(keep_days, before, now: datetime) -> str:
    """The UTC ISO time a purge removes the records before (the records' ``at`` are UTC ISO times).

    ``keep_days`` (a whole number of days, at least 1) keeps that many days back from ``now``;
    ``before`` is an ISO date (midnight UTC) or a time with its offset, not in the future. Give
    exactly one; anything else is a PurgeError naming the problem.
    """
    if now.tzinfo is None:
        raise PurgeError("now: give a time zone offset")
    if (keep_days is None) == (before in (None, "")):
        raise PurgeError("give either patchpilot_history_keep_days (days to keep) or patchpilot_history_before"
                         " (an ISO date or time), not both and not neither")
    if keep_days is not None:
        if isinstance(keep_days, bool) or not isinstance(keep_days, int):
            try:
                keep_days = int(str(keep_days).strip())
            except ValueError:
                raise PurgeError(f"keep_days: expected a whole number of days, got {keep_days!r}") from None
        if keep_days < 1:
            raise PurgeError(f"keep_days: {keep_days}: keep at least 1 day (a purge of everything is not a retention)")
        cutoff = now - timedelta(days=keep_days)
    else:
        text = str(before).strip()
        try:
            cutoff = datetime.fromisoformat(text) if "T" in text or " " in text else None
            if cutoff is None:
                cutoff = datetime.combine(date.fromisoformat(text), datetime.min.time(), timezone.utc)
        except ValueError:
            raise PurgeError(f"before: {text!r} is not an ISO date (2026-01-31) or time"
                             " (2026-01-31T00:00:00+00:00)") from None
        if cutoff.tzinfo is None:
            raise PurgeError(f"before: {text!r}: give a time zone offset, e.g. {text}+00:00")
        if cutoff > now:
            raise PurgeError(f"before: {text} lies in the future; a purge removes only the past")
    return cutoff.astimezone(timezone.utc).isoformat()
