# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The auth_header filter: the header that carries a notification target's or a hook's token.

A thin wrapper around ``policy.auth_header`` for the notify and hooks roles, so that both send
a token the same way; documented in auth_header.yml beside this file.
"""

from __future__ import annotations

from ansible_collections.patchpilot.fleet.plugins.module_utils.policy import auth_header


class FilterModule:
    """The secrets filters."""

    def filters(self):
        return {"auth_header": auth_header}
