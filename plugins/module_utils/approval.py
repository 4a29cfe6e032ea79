# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who approved a plan: the record of a person's approval, checked against the policy's approvers.

An update the policy approves automatically (``approvals.auto``) needs nobody;
anything else in a plan - an update approved by name (``approvals.approve``),
an emergency, a new dependency let in by ``new_dependencies: any`` - was
approved by a person. The plan names that person and when
(``-e patchpilot_approved_by=NAME``; in AWX the launching user), and a name
the policy's ``approvers`` does not list is refused with the list. This is a
record for the audit, not access control (that is AWX's approval node).

Plain Python, no Ansible runtime.
"""

from __future__ import annotations

__all__ = ["ApprovalError", "plan_approval"]


class ApprovalError(ValueError):
    """An approver the policy does not list."""


def _needs(hosts: list) -> list:
    """"host: package (why)" for every planned package a person approved (not approvals.auto)."""
    found = []
    for entry in hosts or ():
        for package in entry.get("packages") or ():
            reason = str(package.get("approved_by") or "")
            if not reason.startswith("auto ("):
                found.append(f"{entry.get('host')}: {package.get('name')} ({reason or 'no reason recorded'})")
    return found


def plan_approval(hosts: list, approvers, approved_by, at: str, source: str = "patchpilot_approved_by") -> dict:
    """``{"needed", "reasons", "by", "at", "source"}`` for a plan's host entries.

    ``approved_by`` None or empty: nobody named (``by`` None; a plan that needs an approval says so).
    A name not in ``approvers`` raises ApprovalError naming the list (also when the policy lists
    nobody and the plan needs an approval).
    """
    reasons = _needs(hosts)
    name = str(approved_by).strip() if approved_by is not None else ""
    record = {"needed": bool(reasons), "reasons": reasons, "by": None, "at": None, "source": None}
    if not name:
        return record
    listed = [str(a).strip() for a in approvers or ()]
    if name not in listed:
        who = ", ".join(listed) if listed else "nobody (the policy's approvers list is empty)"
        raise ApprovalError(f"{name} is not an approver of this policy: approvers are {who}")
    return dict(record, by=name, at=at, source=source)
