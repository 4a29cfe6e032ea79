# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which machine a host is: known by its machine id as well as its name (docs/identity.md).

A *sighting* is what the history store knows of a host at one moment, ``{host,
machine_id, at}``: an ``asset`` record of :mod:`history_records` (``host`` and
``machine_id`` are columns of every record, ``at`` its time), or any dict with the
three. ``machine_id`` is the host's own id (``asset_facts``: 32 hex digits) or None
when the host had none or it was not read; ``at`` is an ISO 8601 time (a time
without a zone is taken as UTC).

Two functions, for the feed and the reports:

:func:`verdict`
    a new sighting against what the store knows: ``same`` machine, ``renamed`` (a
    known machine id under a new name: its history follows it, its previous names
    are listed), ``reinstalled`` (a known name with a new machine id: a new machine
    that took the old name; the old one's history stays the old one's) or ``new``.

:func:`machines`
    a store's records grouped into machines: by machine id, and by name for a
    record without one (the machine that carried that name at that time, else the
    name alone), each with its names, first and last sighting, the machine it
    replaced or was replaced by (a reinstall), and a warning when one id shows up
    under two names in turn (a cloned image that kept its machine id).

Bad input (a record without a host, a time that is not one, a malformed machine
id) raises :class:`IdentityError` naming the record. Plain Python, no Ansible
runtime.
"""

from __future__ import annotations

import bisect
from datetime import datetime, timezone

from ansible_collections.patchpilot.fleet.plugins.module_utils.host_facts import normalise_machine_id

__all__ = ["HOSTLESS", "VERDICTS", "IdentityError", "machine_key", "machines", "verdict"]

#: What a new sighting is, against what the store knows.
VERDICTS = ("same", "renamed", "reinstalled", "new")


#: Record kinds (history_records.KINDS) that name no host.
HOSTLESS = ("run", "purge")


class IdentityError(ValueError):
    """A sighting the functions cannot read (no host, a bad time, a malformed machine id)."""


def machine_key(machine_id: str | None, host: str) -> str:
    """The key of a machine: ``id:<machine id>``, or ``name:<host>`` for one known by name only."""
    return f"id:{machine_id}" if machine_id else f"name:{host}"


def _when(value, where: str) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif value is None or value == "":
        raise IdentityError(f"{where}: 'at' is missing")
    else:
        try:
            moment = datetime.fromisoformat(value.strip()) if isinstance(value, str) else None
        except ValueError:
            moment = None
        if moment is None:
            raise IdentityError(f"{where}: 'at' {value!r} is not an ISO 8601 time")
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _sighting(record, where: str) -> dict:
    if not isinstance(record, dict):
        raise IdentityError(f"{where}: expected a mapping, got {type(record).__name__}")
    host = record.get("host")
    if not isinstance(host, str) or not host:
        raise IdentityError(f"{where}: 'host' is missing")
    raw = record.get("machine_id")
    machine_id = normalise_machine_id(raw)
    if raw not in (None, "") and machine_id is None:
        raise IdentityError(f"{where}: machine_id {raw!r} is not a machine id (32 hex digits)")
    return {"host": host, "machine_id": machine_id, "when": _when(record.get("at"), where)}


def _read(records, what: str) -> list:
    """Sightings of the records that name a host, with their input index, oldest first."""
    if not isinstance(records, (list, tuple)):
        raise IdentityError(f"{what}: expected a list of records, got {type(records).__name__}")
    found = []
    for index, record in enumerate(records):
        if isinstance(record, dict) and record.get("kind") in HOSTLESS and record.get("host") is None:
            continue  # a run's or a purge's record: no host, nothing to place
        sighting = _sighting(record, f"{what}[{index}]")
        sighting["index"] = index
        found.append(sighting)
    return sorted(found, key=lambda s: (s["when"], s["index"]))


def _names(sightings: list) -> list:
    """The names in the order they were first seen."""
    return list(dict.fromkeys(s["host"] for s in sightings))


def _owners(sightings: list) -> dict:
    """{host: ([times], [machine ids])} of the sightings with an id, oldest first, for :func:`_owner`."""
    index: dict = {}
    for s in sightings:
        if s["machine_id"]:
            times, ids = index.setdefault(s["host"], ([], []))
            times.append(s["when"])
            ids.append(s["machine_id"])
    return index


def _owner(host: str, when: datetime, owners: dict) -> str | None:
    """The machine id that carried ``host`` at ``when``: its latest sighting with an id at or
    before then, else the first one after; None when the name never came with an id."""
    if host not in owners:
        return None
    times, ids = owners[host]
    at = bisect.bisect_right(times, when)
    return ids[at - 1] if at else ids[0]


def _carried(machine_id: str, host: str, sightings: list) -> bool:
    """Whether the machine's last sighting in ``sightings`` was under ``host`` (not renamed away since)."""
    mine = [s for s in sightings if s["machine_id"] == machine_id]
    return bool(mine) and mine[-1]["host"] == host


def verdict(known, sighting) -> dict:
    """What ``sighting`` is, against the sightings the store ``known``.

    Returns ``{verdict, machine, host, machine_id, by, previous_names, previous_machine_id}``:

    - ``verdict``: one of :data:`VERDICTS`;
    - ``machine``: the key (:func:`machine_key`) of the machine whose history the sighting
      continues or starts, as :func:`machines` keys it;
    - ``by``: ``machine_id`` when the id decided, ``name`` when the sighting has no id (or
      its name was only ever seen without one) and the name decided;
    - ``previous_names``: the machine's other names, in the order first seen (a renamed
      machine's history lists them);
    - ``previous_machine_id``: for ``reinstalled``, the id the name carried before (the
      machine it replaces), else None.

    A new id under a name whose machine was renamed away since is ``new`` (the name was free),
    not ``reinstalled``.

    A sighting without a machine id is the machine that last carried its name (``same``),
    or ``new``; it can never be told renamed or reinstalled.
    """
    new = _sighting(sighting, "sighting")
    seen = _read(known, "known")
    host, machine_id = new["host"], new["machine_id"]
    answer = {"verdict": "new", "machine": machine_key(machine_id, host), "host": host, "machine_id": machine_id,
              "by": "machine_id" if machine_id else "name", "previous_names": [], "previous_machine_id": None}
    if machine_id is None:
        owner = _owner(host, new["when"], _owners(seen))
        same = [s for s in seen if s["machine_id"] == owner] if owner else [s for s in seen if s["host"] == host]
        if same:
            answer.update(verdict="same", machine=machine_key(owner, host), machine_id=owner,
                          previous_names=[n for n in _names(same) if n != host])
        return answer
    mine = [s for s in seen if s["machine_id"] == machine_id]
    if mine:
        answer.update(verdict="same" if mine[-1]["host"] == host else "renamed",
                      previous_names=[n for n in _names(mine) if n != host])
        return answer
    named = [s for s in seen if s["host"] == host]
    with_id = [s for s in named if s["machine_id"]]
    previous = with_id[-1]["machine_id"] if with_id else None
    if previous and _carried(previous, host, seen):
        answer.update(verdict="reinstalled", previous_machine_id=previous)
    elif named and not with_id:
        # the name was only ever seen without an id: this is the first time its id is known
        answer.update(verdict="same", by="name")
    return answer


def _cloned(sightings: list) -> bool:
    """One id under two names in turn (A, B, A) or at the same moment: two machines share it."""
    turns = [s["host"] for n, s in enumerate(sightings) if n == 0 or s["host"] != sightings[n - 1]["host"]]
    at_once = {}
    for s in sightings:
        at_once.setdefault(s["when"], set()).add(s["host"])
    return len(turns) != len(set(turns)) or any(len(names) > 1 for names in at_once.values())


def machines(records) -> list:
    """The machines a store's records describe, oldest first.

    ``records``: the store's records (dicts with ``host``, ``machine_id``, ``at``; those
    without a host, a run's or a purge's, are left out). Each machine:
    ``{machine, machine_id, host, names, previous_names, first_seen, last_seen, records,
    replaces, replaced_by, clone_suspected}``, with ``host`` its latest name, ``names``
    every name in the order first seen, ``records`` the indices in ``records`` of its
    records (oldest first), ``replaces`` / ``replaced_by`` the key of the machine that
    still carried its first name when it appeared / that took its name from it (a
    reinstall; a name freed by a rename is taken, not replaced), and
    ``clone_suspected`` true when its id was seen under two names in turn or at once.
    """
    seen = _read(records, "records")
    owners = _owners(seen)
    groups: dict = {}
    for s in seen:
        owner = s["machine_id"] or _owner(s["host"], s["when"], owners)
        groups.setdefault(machine_key(owner, s["host"]), []).append(s)
    found, named = {}, {}
    for key, mine in groups.items():
        names = _names(mine)
        with_id = [s for s in mine if s["machine_id"]]
        found[key] = {
            "machine": key, "machine_id": with_id[0]["machine_id"] if with_id else None,
            "host": mine[-1]["host"], "names": names, "previous_names": [n for n in names if n != mine[-1]["host"]],
            "first_seen": mine[0]["when"].isoformat(), "last_seen": mine[-1]["when"].isoformat(),
            "records": [s["index"] for s in mine], "replaces": None, "replaced_by": None,
            "clone_suspected": _cloned(with_id),
        }
        for name in names:
            named.setdefault(name, []).append(key)
    ordered = sorted(found, key=lambda k: (groups[k][0]["when"], groups[k][0]["index"]))
    for key in ordered:
        first = groups[key][0]
        if not found[key]["machine_id"]:
            continue
        # the other id machine that still carried this machine's first name when it appeared
        before = []
        for other in named[first["host"]]:
            if other == key or not found[other]["machine_id"]:
                continue
            theirs = groups[other]
            at = bisect.bisect_left([s["when"] for s in theirs], first["when"])
            if at and theirs[at - 1]["host"] == first["host"]:
                before.append((theirs[at - 1]["when"], theirs[at - 1]["index"], other))
        if before:
            previous = max(before)[2]
            found[key]["replaces"] = previous
            found[previous]["replaced_by"] = key
    return [found[key] for key in ordered]
