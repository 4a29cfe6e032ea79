# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The window_open filter: module_utils/window.py's verdict for the preflight role (see window_open.yml)."""

from __future__ import annotations

from ansible_collections.patchpilot.fleet.plugins.module_utils.window import window_verdict


def window_open(now, start="", end="", emergency=False):
    """The window check's outcome at the host's clock ``now``; see window_open.yml."""
    return window_verdict(now, start, end, emergency)


class FilterModule:
    """The window filter."""

    def filters(self):
        return {"window_open": window_open}
