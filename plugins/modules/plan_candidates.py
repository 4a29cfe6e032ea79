#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: a plan's versions against what the host's repositories offer now."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: plan_candidates
short_description: Check a plan's versions against what the host's repositories offer now
version_added: 0.2.0
description:
  - Asks the host's package manager, from the package index as it is (nothing is refreshed,
    nothing written), which versions of the planned packages its repositories offer and which
    one an upgrade would take (the candidate).
  - "Per planned package the answer is one state: V(in_place) (the planned version is installed),
    V(current) (offered, nothing newer), V(moved) (offered, but the candidate is newer: the
    repository moved on since the plan), V(withdrawn) (no repository offers it any more, but it is
    in O(staged)), V(gone) (neither a repository nor O(staged) gives it)."
  - The module never fails on the verdict; RV(ok) is false when something is V(gone), and the
    caller fails the host (the patch role does, before anything changes).
  - apt reads C(apt-cache policy); dnf reads C(dnf list --showduplicates) of the available and
    the installed packages from the metadata cache (C(-C)). zypper is not supported.
  - Reads only; supports check mode.
options:
  packages:
    description:
      - The planned packages, each with C(name) and C(version) (the plan entry's C(packages)).
    type: list
    elements: dict
    required: true
  staged:
    description:
      - The packages staged for this run (C(stage.json)'s C(packages), C(name) and C(version));
        a planned version in this list is not V(gone) when the repositories dropped it.
    type: list
    elements: dict
    default: []
  package_manager:
    description:
      - Which package manager to ask.
    type: str
    choices: [apt, dnf]
    default: apt
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
author:
  - patchpilot developers (@patchpilot)
"""

EXAMPLES = r"""
- name: Check the plan's versions against the repositories
  patchpilot.fleet.plan_candidates:
    packages: "{{ plan_entry.packages }}"
    staged: "{{ stage_record.packages | default([]) }}"
    package_manager: apt
  register: candidates

- name: Fail the host when a plan version is gone
  ansible.builtin.fail:
    msg: "{{ candidates.message }}"
  when: not candidates.ok
"""

RETURN = r"""
ok:
  description: False when a planned version is V(gone).
  returned: success
  type: bool
  sample: true
packages:
  description: One entry per planned package.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Package name.
      type: str
    planned:
      description: The plan's version (without a C(0:) epoch).
      type: str
    installed:
      description: The installed version, null when none.
      type: str
    candidate:
      description: The version an upgrade would install now, null when none.
      type: str
    offered:
      description: The versions the repositories offer now.
      type: list
      elements: str
    state:
      description: V(in_place), V(current), V(moved), V(withdrawn) or V(gone).
      type: str
  sample:
    - {name: openssl, planned: 3.0.15-1~deb12u1, installed: 3.0.14-1~deb12u2, candidate: 3.0.16-1~deb12u1,
       offered: [3.0.16-1~deb12u1, 3.0.15-1~deb12u1], state: moved}
moved:
  description: The packages whose candidate is newer than the plan's version.
  returned: success
  type: list
  elements: dict
  sample: [{name: openssl, planned: 3.0.15-1~deb12u1, candidate: 3.0.16-1~deb12u1}]
withdrawn:
  description: The planned versions no repository offers any more, but staged.
  returned: success
  type: list
  elements: dict
  sample: []
gone:
  description: The planned versions neither a repository nor the staged files give.
  returned: success
  type: list
  elements: dict
  sample: [{name: pplab-web, planned: 9.9-9, offered: [1.0-2]}]
pending:
  description: The planned names whose planned version is not installed yet.
  returned: success
  type: list
  elements: str
  sample: [openssl]
message:
  description: One line naming the moved, withdrawn and gone packages with their versions.
  returned: success
  type: str
  sample: "the repositories moved on since the plan, the planned versions are installed: openssl plan 3.0.15-1~deb12u1, candidate 3.0.16-1~deb12u1"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.patchpilot.fleet.plugins.module_utils.candidates import (
    CandidatesError,
    check_candidates,
    dnf_candidates,
    parse_apt_policy,
)

_ENV = {"LANG": "C", "LC_ALL": "C"}
# apt-cache writes no cache file (it builds it in memory).
_APT_CACHE = ["apt-cache", "-o", "Dir::Cache::pkgcache=", "-o", "Dir::Cache::srcpkgcache=", "policy"]
_DNF_LIST = ["dnf", "-q", "-C", "--setopt=exit_on_lock=False", "list", "--showduplicates"]


def _run(module, argv):
    rc, out, err = module.run_command(argv, environ_update=_ENV)
    if rc != 0:
        raise CandidatesError(f"{' '.join(argv[:2])} failed (rc {rc}): {(err or out).strip()[-400:]}")
    return out


def _offer(module, manager, names):
    if not names:
        return {}
    if manager == "apt":
        return parse_apt_policy(_run(module, _APT_CACHE + ["--"] + names))
    # dnf exits 1 when none of the names matches: then nothing is offered or installed.
    rc, available, err = module.run_command(_DNF_LIST + ["--available", "--"] + names, environ_update=_ENV)
    if rc not in (0, 1):
        raise CandidatesError(f"dnf list --available failed (rc {rc}): {(err or available).strip()[-400:]}")
    rc, installed, err = module.run_command(_DNF_LIST + ["--installed", "--"] + names, environ_update=_ENV)
    if rc not in (0, 1):
        raise CandidatesError(f"dnf list --installed failed (rc {rc}): {(err or installed).strip()[-400:]}")
    return dnf_candidates(available, installed)


def main():
    module = AnsibleModule(
        argument_spec={
            "packages": {"type": "list", "elements": "dict", "required": True},
            "staged": {"type": "list", "elements": "dict", "default": []},
            "package_manager": {"type": "str", "choices": ["apt", "dnf"], "default": "apt"},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        names = sorted({str(p.get("name")) for p in params["packages"] if isinstance(p, dict) and p.get("name")})
        offer = _offer(module, params["package_manager"], names)
        result = check_candidates(params["packages"], offer, params["staged"], params["package_manager"])
    except CandidatesError as exc:
        module.fail_json(msg=f"plan_candidates: {exc}")
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
