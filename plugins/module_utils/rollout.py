# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decisions of the rollout between waves, from the run record alone.

Plain Python, no Ansible runtime; ``playbooks/patch.yml`` asks these through
the ``run_record`` action.

Budget
    A host counts against the run's failure budget when it is ``failed`` or
    ``rolled_back``, or, when the plan's budget says ``count_unreachable``,
    when its latest history entry says it became unreachable. The budget is
    spent when the count is above ``max_failed``: ``max_failed: 1`` tolerates
    one failure and stops at the second. A failed canary host stops the run
    whatever the budget.

Gate
    Whether a wave may start now. A wave planned in a maintenance window
    starts no earlier than its planned start (a wait up to ``max_wait``
    seconds is allowed, longer means "come back then") and not after its
    planned end (it could not finish in its window: replan). A wave planned
    with no windows, or in an emergency plan that bypasses them, starts at
    once, unless a freeze moved it or a wave before it (the plan's
    ``deferred``): then it waits for its planned start like a window's wave.
"""

from __future__ import annotations

from datetime import datetime, timezone

__all__ = ["budget_status", "canary_hosts", "gate", "host_counts", "wave_hosts", "went_unreachable"]

COUNTED_PHASES = ("failed", "rolled_back")


def went_unreachable(record: dict) -> bool:
    """Whether the host record's latest history entry says the host became unreachable."""
    history = record.get("history") or ()
    if not history:
        return False
    detail = history[-1].get("detail")
    return isinstance(detail, dict) and detail.get("unreachable") is True


def wave_hosts(plan: dict) -> dict:
    """{wave number: [hosts]} of the plan, in wave order."""
    waves = {}
    for entry in plan.get("hosts") or ():
        if entry.get("wave") is not None:
            waves.setdefault(int(entry["wave"]), []).append(entry["host"])
    return {wave: sorted(hosts) for wave, hosts in sorted(waves.items())}


def canary_hosts(plan: dict) -> list:
    """The hosts of the canary wave (wave 0 when the plan's first wave is a canary)."""
    for wave in plan.get("waves") or ():
        if wave.get("canary"):
            return list(wave.get("hosts") or ())
    return []


def host_counts(records: dict) -> dict:
    """{phase: n} and ``unreachable`` over ``records`` ({host: host record})."""
    counts = {}
    for record in records.values():
        counts[record["phase"]] = counts.get(record["phase"], 0) + 1
    counts["unreachable"] = sum(1 for r in records.values() if r["phase"] not in ("done", "failed", "rolled_back")
                                and went_unreachable(r))
    return counts


def budget_status(plan: dict, records: dict) -> dict:
    """The failure budget against the hosts' records: counted hosts, spent, canary failed."""
    budget = plan.get("budget") or {}
    max_failed = int(budget.get("max_failed") or 0)
    count_unreachable = budget.get("count_unreachable", True) is not False
    failed, unreachable = [], []
    for host, record in records.items():
        if record["phase"] in COUNTED_PHASES:
            failed.append(host)
        elif record["phase"] != "done" and went_unreachable(record):
            unreachable.append(host)
    counted = sorted(failed + (unreachable if count_unreachable else []))
    canary = set(canary_hosts(plan))
    canary_failed = sorted(h for h in canary if h in failed or h in unreachable)
    spent = len(counted) > max_failed
    reasons = []
    if canary_failed:
        reasons.append(f"the canary failed ({', '.join(canary_failed)}): no other host is patched")
    if spent:
        reasons.append(f"the failure budget is spent: {len(counted)} hosts counted"
                       f" ({', '.join(counted)}), the run tolerates {max_failed}")
    return {"max_failed": max_failed, "count_unreachable": count_unreachable, "failed": sorted(failed),
            "unreachable": sorted(unreachable), "counted": counted, "spent": spent,
            "canary_failed": canary_failed, "halt": bool(reasons), "reason": "; ".join(reasons) or None}


def _parse(text):
    if not text:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _frozen_before(plan: dict, wave: int):
    """The reason of a freeze that moved wave ``wave`` or an earlier one (their ``deferred``), or None."""
    if "freezes" in (plan.get("bypassed") or ()):
        return None
    for found in plan.get("waves") or ():
        if int(found.get("wave", -1)) > wave:
            continue
        for moved in found.get("deferred") or ():
            reason = str(moved.get("reason") or "")
            if reason.startswith("frozen: "):
                return reason[len("frozen: "):]
    return None


def gate(plan: dict, wave: int, now: datetime, max_wait: int = 3600) -> dict:
    """May wave ``wave`` start at ``now``? {go, wait_seconds, reason}."""
    found = next((w for w in plan.get("waves") or () if int(w.get("wave", -1)) == int(wave)), None)
    if found is None:
        return {"go": False, "wait_seconds": 0, "reason": f"wave {wave} is not in the plan"}
    windows = [part.get("window") for part in found.get("schedule") or ()]
    start, end = _parse(found.get("start")), _parse(found.get("end"))
    if "windows" in (plan.get("bypassed") or ()) or not any(windows):
        # no windows: the planned times are estimates, except where a freeze pushed them
        frozen = _frozen_before(plan, int(wave))
        if frozen and start is not None and now < start:
            wait = int((start - now).total_seconds()) + 1
            if wait > max_wait:
                return {"go": False, "wait_seconds": wait,
                        "reason": f"wave {wave} is planned to start at {found.get('start')}, after the freeze"
                                  f" ({frozen}): rerun then (the run stays open and continues where it stopped)"}
            return {"go": True, "wait_seconds": wait, "reason": None}
        return {"go": True, "wait_seconds": 0, "reason": None}
    if end is not None and now >= end:
        return {"go": False, "wait_seconds": 0,
                "reason": f"wave {wave} was planned for {found.get('start')} .. {found.get('end')}:"
                          " that window is over, make a new plan"}
    if start is not None and now < start:
        wait = int((start - now).total_seconds()) + 1
        if wait > max_wait:
            return {"go": False, "wait_seconds": wait,
                    "reason": f"wave {wave} is planned to start at {found.get('start')}: rerun then"
                              " (the run stays open and continues where it stopped)"}
        return {"go": True, "wait_seconds": wait, "reason": None}
    return {"go": True, "wait_seconds": 0, "reason": None}
