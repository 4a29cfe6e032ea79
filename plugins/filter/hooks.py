# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hooks filters: hooks_record, hooks_undo_queue and hooks_forget.

Thin wrappers around module_utils/hooks.py for the hooks role: which hooks are done on a host
(one entry per phase and name, a rerun replaces it), which undos run when it fails (newest
first, each once), what stays after them. Each filter is documented in its own file beside this
one; a malformed list of hooks done is one AnsibleFilterError naming the entry.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.patchpilot.fleet.plugins.module_utils.hooks import (
    HooksStateError,
    after_undo,
    record_done,
    undo_queue,
)


def hooks_record(done, phase, name, undo=None):
    """The hooks done after hook NAME of PHASE ran (again); see hooks_record.yml."""
    try:
        return record_done(done, phase, name, undo)
    except HooksStateError as exc:
        raise AnsibleFilterError(f"hooks_record: {exc}") from exc


def hooks_undo_queue(done, phase):
    """The hooks done whose undo runs, newest first, each once; see hooks_undo_queue.yml."""
    try:
        return undo_queue(done, phase)
    except HooksStateError as exc:
        raise AnsibleFilterError(f"hooks_undo_queue: {exc}") from exc


def hooks_forget(done, phase):
    """The hooks done that stay once PHASE's scope was undone; see hooks_forget.yml."""
    try:
        return after_undo(done, phase)
    except HooksStateError as exc:
        raise AnsibleFilterError(f"hooks_forget: {exc}") from exc


class FilterModule:
    """The hooks filters."""

    def filters(self):
        return {
            "hooks_record": hooks_record,
            "hooks_undo_queue": hooks_undo_queue,
            "hooks_forget": hooks_forget,
        }
