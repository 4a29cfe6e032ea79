# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollback_source filter: module_utils/rollback_later.py for playbooks/rollback.yml (see rollback_source.yml)."""

from __future__ import annotations

from ansible_collections.patchpilot.fleet.plugins.module_utils.rollback_later import source_verdict


def rollback_source(kept, host_check=None, archive_check=None, host_paths=None):
    """Is what the run kept for a host's rollback still there; see rollback_source.yml."""
    return source_verdict(kept, host_check, archive_check, host_paths)


class FilterModule:
    """The rollback_source filter."""

    def filters(self):
        return {"rollback_source": rollback_source}
