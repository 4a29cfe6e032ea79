# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The automatic updaters filters: automatic_updaters, updaters_pause, updaters_resume and updaters_restored.

Thin wrappers around module_utils/updaters.py for the preflight role (which updaters could run
during the window) and the updaters role (what a pause stops and masks, what resume puts back,
whether it did). They take the commands' output as it is; each filter is documented in its own
file beside this one. Bad input is one AnsibleFilterError naming it.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.patchpilot.fleet.plugins.module_utils.updaters import (
    UpdatersError,
    find_updaters,
    parse_apt_config,
    parse_dnf_automatic,
    parse_systemctl_show,
    pause_actions,
    restored,
    resume_actions,
)


def _text(value, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise AnsibleFilterError(f"{what} must be a command's output (a string), got {type(value).__name__}")
    return value


def automatic_updaters(show, apt_config="", dnf_conf="", offline_update=False, action="report"):
    """The preflight outcome of the updaters check; see automatic_updaters.yml."""
    try:
        return find_updaters(parse_systemctl_show(_text(show, "automatic_updaters: systemctl show")),
                             parse_apt_config(_text(apt_config, "automatic_updaters: apt-config dump")),
                             parse_dnf_automatic(_text(dnf_conf, "automatic_updaters: automatic.conf")),
                             bool(offline_update), action)
    except UpdatersError as exc:
        raise AnsibleFilterError(f"automatic_updaters: {exc}") from exc


def updaters_pause(show, targets, saved=None):
    """What a pause stops and masks, and the new state file; see updaters_pause.yml."""
    try:
        return pause_actions(parse_systemctl_show(_text(show, "updaters_pause: systemctl show")), targets, saved)
    except UpdatersError as exc:
        raise AnsibleFilterError(f"updaters_pause: {exc}") from exc


def updaters_resume(show, saved):
    """What resume unmasks and starts; see updaters_resume.yml."""
    try:
        return resume_actions(parse_systemctl_show(_text(show, "updaters_resume: systemctl show")), saved)
    except UpdatersError as exc:
        raise AnsibleFilterError(f"updaters_resume: {exc}") from exc


def updaters_restored(show, saved):
    """What still differs from the state before the pause; see updaters_restored.yml."""
    try:
        return restored(parse_systemctl_show(_text(show, "updaters_restored: systemctl show")), saved)
    except UpdatersError as exc:
        raise AnsibleFilterError(f"updaters_restored: {exc}") from exc


class FilterModule:
    """The automatic updaters filters."""

    def filters(self):
        return {
            "automatic_updaters": automatic_updaters,
            "updaters_pause": updaters_pause,
            "updaters_resume": updaters_resume,
            "updaters_restored": updaters_restored,
        }
