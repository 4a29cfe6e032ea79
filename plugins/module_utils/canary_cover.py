# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A canary that covers the fleet: the fewest hosts on which every kind of host and every update is tested first.

``rollout.canary: {cover: [release, role, updates], max: N}`` asks for a canary
such that every combination of the named host attributes present among the
hosts to patch (a Debian 12 db host, a Debian 13 web host...), and, with
``updates``, every update that will be installed, is on at least one canary
host. :func:`choose` picks it:

- the hosts named in ``hosts:`` are always in (``required``), and hosts the
  policy keeps out (``excluded``, with the reason: critical hosts, ...) never;
- an anti-affinity group keeps at most its cap of hosts in the canary, as in
  any wave;
- among the sets that satisfy those rules and cover the most, the smallest is
  taken. With at most :data:`EXACT_LIMIT` candidate hosts it is found by
  trying every set, smallest first (exact); above that, greedily: each step
  adds the host covering the most still uncovered items. Greedy set cover is
  within a factor H(d) = 1 + 1/2 + ... + 1/d (at most 1 + ln d) of the
  smallest cover, d being the most items one host covers (Johnson 1974,
  Chvatal 1979): for a host with 20 updates of 3 kinds, at most about 4 times
  the optimum, and in practice close to it.
- ``max`` caps the canary; what stays uncovered is listed with the reason.

Plain Python, no Ansible runtime.
"""

from __future__ import annotations

import itertools

__all__ = ["EXACT_LIMIT", "CoverError", "choose", "items_of"]

#: Up to this many candidate hosts the smallest cover is found exactly.
EXACT_LIMIT = 14
#: The dimension that stands for the updates themselves.
UPDATES = "updates"


class CoverError(ValueError):
    """Input the cover cannot use (a dimension no host has, a bad cap)."""


def items_of(host: dict, dimensions) -> set:
    """What one host covers: ``("kind", (value, ...))`` for the attribute combination and
    ``("update", name)`` per update (with ``updates`` among the dimensions)."""
    attributes = [d for d in dimensions if d != UPDATES]
    found = set()
    if attributes:
        found.add(("kind", tuple((d, str(host["attributes"].get(d))) for d in attributes)))
    if UPDATES in dimensions:
        found.update(("update", str(name)) for name in host.get("updates") or ())
    return found


def _fits(chosen, groups) -> bool:
    return all(len(members & chosen) <= cap for members, cap in groups)


def _exact(candidates, required, covers, wanted, groups, cap):
    """The smallest set covering the most of ``wanted``, trying every set (candidates are few)."""
    best, best_covered = None, -1
    free = [h for h in candidates if h not in required]
    room = len(free) if cap is None else max(0, cap - len(required))
    for size in range(0, min(len(free), room) + 1):
        for extra in itertools.combinations(free, size):
            chosen = set(required) | set(extra)
            if not _fits(chosen, groups):
                continue
            covered = len(wanted & set().union(*(covers[h] for h in chosen))) if chosen else 0
            if covered > best_covered:
                best, best_covered = sorted(chosen), covered
        if best_covered == len(wanted):
            break  # nothing larger can cover more, and this size was the smallest that covers all
    return best if best is not None else sorted(required)


def _greedy(candidates, required, covers, wanted, groups, cap):
    chosen = set(required)
    left = wanted - set().union(*(covers[h] for h in chosen)) if chosen else set(wanted)
    while left and (cap is None or len(chosen) < cap):
        options = [h for h in candidates if h not in chosen and covers[h] & left and _fits(chosen | {h}, groups)]
        if not options:
            break
        pick = max(options, key=lambda h: (len(covers[h] & left), -candidates.index(h)))
        chosen.add(pick)
        left -= covers[pick]
    return sorted(chosen)


def choose(hosts: list, dimensions, required=(), excluded: dict | None = None, groups=(), cap=None) -> dict:
    """The canary covering the fleet (module docstring).

    ``hosts``: ``[{"host", "attributes": {dimension: value}, "updates": [names]}]`` in the planner's
    order (a tie goes to the earlier host). ``excluded``: ``{host: reason}``. ``groups``:
    ``[(set of hosts, at most per wave)]`` (anti-affinity). ``cap``: the most canary hosts (None: no cap).

    Returns ``{"hosts": [...], "method": "exact" | "greedy", "covered_by": {item text: host},
    "uncovered": [{"item", "reason", "hosts"}]}``.
    """
    dimensions = list(dimensions or ())
    if not dimensions:
        raise CoverError("rollout.canary.cover: name at least one of the host attributes or updates")
    if cap is not None and (not isinstance(cap, int) or isinstance(cap, bool) or cap < 1):
        raise CoverError(f"rollout.canary.max: expected a whole number of at least 1, got {cap!r}")
    excluded = dict(excluded or {})
    names = [h["host"] for h in hosts]
    unknown = [h for h in required if h not in names]
    if unknown:
        raise CoverError(f"rollout.canary.hosts: {', '.join(sorted(unknown))} not among the hosts to patch")
    covers = {h["host"]: items_of(h, dimensions) for h in hosts}
    wanted = set().union(*covers.values()) if covers else set()
    required = [h for h in names if h in set(required)]
    candidates = [h for h in names if h not in excluded or h in required]
    groups = [(set(members), int(limit)) for members, limit in groups or ()]
    if cap is not None and len(required) > cap:
        cap = len(required)  # the named hosts are always in; max caps what the cover adds
    reachable = wanted & set().union(*(covers[h] for h in candidates)) if candidates else set()
    if len(candidates) <= EXACT_LIMIT:
        chosen, method = _exact(candidates, required, covers, reachable, groups, cap), "exact"
    else:
        chosen, method = _greedy(candidates, required, covers, reachable, groups, cap), "greedy"
    covered_by = {}
    for host in chosen:
        for item in sorted(covers[host]):
            covered_by.setdefault(_text(item), host)
    uncovered = []
    for item in sorted(wanted - set().union(*(covers[h] for h in chosen)) if chosen else wanted):
        holders = [h for h in names if item in covers[h]]
        reason = _why(holders, excluded, item in reachable, cap, chosen)
        uncovered.append({"item": _text(item), "reason": reason, "hosts": holders})
    return {"hosts": chosen, "method": method, "covered_by": covered_by, "uncovered": uncovered}


def _text(item) -> str:
    kind, value = item
    if kind == "update":
        return f"update {value}"
    return ", ".join(f"{dimension} {text}" for dimension, text in value)


def _why(holders, excluded, reachable, cap, chosen) -> str:
    if not reachable:
        reasons = sorted({f"{h}: {excluded[h]}" for h in holders if h in excluded})
        return "only on hosts kept out of the canary (" + "; ".join(reasons) + ")"
    if cap is not None and len(chosen) >= cap:
        return f"rollout.canary.max is {cap}"
    return "anti-affinity keeps the hosts that have it out of the canary together"
