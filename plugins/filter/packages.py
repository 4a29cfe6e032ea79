# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the stage, snapshot, patch, rollback and preflight roles: thin wrappers over module_utils.

The verdicts (transaction_check, patch_verdict, rollback_check, preflight_check)
and the package lists the roles derive from a plan entry; each is documented
in the .yml file of its name beside this one.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.patchpilot.fleet.plugins.module_utils import (
    package_plans,
    plan_versions,
    preflight_checks,
    rollback_check as rollback,
    transaction_check as transaction,
)

PREFLIGHT_CHECKS = {
    "locks": preflight_checks.locks_check,
    "package_manager": preflight_checks.package_manager_check,
    "free_space": preflight_checks.free_space_check,
    "reboot": preflight_checks.reboot_check,
    "backup": preflight_checks.backup_check,
}


def _guard(name, function):
    def wrapped(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise AnsibleFilterError(f"{name}: {exc}") from exc
    wrapped.__name__ = name
    return wrapped


def transaction_check(result, manager, planned_names, allowed_removals=(), unsupported=""):
    return transaction.transaction_check(manager, result, planned_names, allowed_removals, unsupported or None)


def patch_verdict(entry, before, after, simulation=None, run=None, timeout=None):
    return plan_versions.patch_verdict(entry, before, after, simulation, run, timeout)


def plan_pending(records, entry):
    return plan_versions.pending(entry, records)


def rollback_check(records, snapshot, entry=None, kept=()):
    touched = rollback.touched_names(snapshot or {}, entry or {}, kept)
    return rollback.rollback_check((snapshot or {}).get("packages") or {}, records, touched)


def preflight_check(check, **facts):
    if check not in PREFLIGHT_CHECKS:
        raise AnsibleFilterError(f"preflight_check: no check {check!r}; one of {', '.join(PREFLIGHT_CHECKS)}")
    return PREFLIGHT_CHECKS[check](**facts)


def dnf_specs(packages):
    return [package_plans.dnf_spec(p) for p in packages or ()]


class FilterModule:
    """patchpilot.fleet filters over installed packages and plan entries."""

    def filters(self):
        plain = {
            "transaction_check": transaction_check,
            "patch_verdict": patch_verdict,
            "plan_pending": plan_pending,
            "rollback_check": rollback_check,
            "preflight_check": preflight_check,
            "command_steps": rollback.command_steps,
            "rollback_record": rollback.rollback_record,
            "packages_to_keep": package_plans.packages_to_keep,
            "version_drift": package_plans.version_drift,
            "plan_versions_installed": package_plans.plan_versions_installed,
            "plan_names": package_plans.plan_names,
            "download_list": package_plans.download_list,
            "dnf_specs": dnf_specs,
            "dnf_expected": package_plans.dnf_expected,
            "staged_packages": package_plans.staged_packages,
        }
        return {name: _guard(name, function) for name, function in plain.items()}
