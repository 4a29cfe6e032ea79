# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The health filters: health_settings and health_verdict.

Thin wrappers around module_utils/health.py for the verify role: the checked settings of a
verification (the policy's health_checks, the role's variables, the baseline), and the verdict
on a reading after patching. Each filter is documented in its own file beside this one; bad
input is one AnsibleFilterError naming the variable.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.patchpilot.fleet.plugins.module_utils.health import (
    HealthReadingError,
    HealthSettingsError,
)
from ansible_collections.patchpilot.fleet.plugins.module_utils.health import health_settings as _settings
from ansible_collections.patchpilot.fleet.plugins.module_utils.health import health_verdict as _verdict


def health_settings(health_checks, overrides=None, baseline=None):
    """The checked settings of one verification; see health_settings.yml."""
    try:
        return _settings(health_checks, overrides, baseline)
    except (HealthSettingsError, HealthReadingError) as exc:
        raise AnsibleFilterError(str(exc)) from exc


def health_verdict(after, baseline, settings, http_results=(), command_results=(), expect_reboot=False,
                   after_rollback=False, host=""):
    """The verdict on a reading after patching; see health_verdict.yml."""
    try:
        return _verdict(after, baseline, settings, http_results, command_results, expect_reboot, after_rollback, host)
    except (HealthSettingsError, HealthReadingError) as exc:
        raise AnsibleFilterError(f"verify: {exc}") from exc


class FilterModule:
    """The health filters."""

    def filters(self):
        return {
            "health_settings": health_settings,
            "health_verdict": health_verdict,
        }
