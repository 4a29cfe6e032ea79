# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hooks done on a host: what to record when a hook has run, which undos to run, what stays.

The hooks role keeps a list of the hooks done on a host (the fact ``hooks_done``, saved to the
run's ``archive/<host>/hooks.json``), each entry ``{phase, name, undo}``. A rerun of an
interrupted run reads that file and runs the host's hooks again: the hook is then the same hook
done again, not a second one, so its entry is replaced where it stands (one entry per phase and
name, in the order the hooks were first done) and its undo runs once when the host fails.
"""

from __future__ import annotations

from collections.abc import Mapping

HOST_PHASES = ("pre_host", "post_host")
WAVE_PHASES = ("pre_wave", "post_wave")
PHASES = HOST_PHASES + WAVE_PHASES


class HooksStateError(ValueError):
    """The hooks done (a fact or a state file) are not a list of {phase, name, undo}."""


def _phase(phase) -> str:
    if phase not in PHASES:
        raise HooksStateError(f"hook phase {phase!r}: expected one of {', '.join(PHASES)}")
    return phase


def _scope(phase) -> tuple:
    """The phases an undo in ``phase`` covers: the host hooks, or the wave hooks."""
    return HOST_PHASES if _phase(phase) in HOST_PHASES else WAVE_PHASES


def checked_done(done) -> list[dict]:
    """``done`` as a list of entries {phase, name, undo}; one error naming the entry otherwise."""
    if done is None:
        return []
    if isinstance(done, (str, bytes, Mapping)) or not isinstance(done, (list, tuple)):
        raise HooksStateError(f"the hooks done must be a list of {{phase, name, undo}}, not {type(done).__name__}")
    entries = []
    for index, entry in enumerate(done):
        if not isinstance(entry, Mapping):
            raise HooksStateError(f"hooks done entry {index}: expected a mapping with phase, name and undo, "
                                  f"got {type(entry).__name__}")
        if not isinstance(entry.get("name"), str) or not entry.get("name"):
            raise HooksStateError(f"hooks done entry {index}: 'name' must be a non-empty string")
        try:
            _phase(entry.get("phase"))
        except HooksStateError as exc:
            raise HooksStateError(f"hooks done entry {index} ({entry['name']!r}): {exc}") from None
        undo = entry.get("undo")
        if undo is not None and not isinstance(undo, Mapping):
            raise HooksStateError(f"hooks done entry {index} ({entry['name']!r}): 'undo' must be a hook or null")
        entries.append({"phase": entry["phase"], "name": entry["name"], "undo": dict(undo) if undo else None})
    return entries


def record_done(done, phase: str, name: str, undo=None) -> list[dict]:
    """The hooks done after hook ``name`` of ``phase`` ran (again).

    A hook already recorded (same phase and name: a rerun ran it again) keeps its place with
    the newest undo; a new one is appended.
    """
    if not isinstance(name, str) or not name:
        raise HooksStateError("a hook done needs a non-empty name")
    if undo is not None and not isinstance(undo, Mapping):
        raise HooksStateError(f"hook {name!r}: 'undo' must be a hook or null")
    entry = {"phase": _phase(phase), "name": name, "undo": dict(undo) if undo else None}
    entries, replaced = [], False
    for known in checked_done(done):
        if (known["phase"], known["name"]) != (phase, name):
            entries.append(known)
        elif not replaced:  # a state file written before entries were unique may hold it twice
            entries.append(entry)
            replaced = True
    return entries if replaced else entries + [entry]


def undo_queue(done, phase: str) -> list[dict]:
    """The entries whose undo runs when the host (``*_host``) or the wave (``*_wave``) fails.

    Newest first; only entries with an undo; each hook once even when ``done`` holds it twice.
    """
    scope = _scope(phase)
    queue, seen = [], set()
    for entry in reversed(checked_done(done)):
        key = (entry["phase"], entry["name"])
        if entry["phase"] in scope and entry["undo"] and key not in seen:
            seen.add(key)
            queue.append(entry)
    return queue


def after_undo(done, phase: str) -> list[dict]:
    """The hooks still done once the undos of ``phase``'s scope ran: the other scope's."""
    scope = _scope(phase)
    return [e for e in checked_done(done) if e["phase"] not in scope]
