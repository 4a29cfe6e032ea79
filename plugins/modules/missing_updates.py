#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: the updates a host is missing, as one normalised record each."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: missing_updates
short_description: List the updates a host is missing, in one record shape for every platform
version_added: 0.1.0
description:
  - Finds every pending update of the host's package manager and returns one normalised
    update record per package, the same shape for apt, dnf, zypper and macOS
    (Windows hosts use M(patchpilot.fleet.windows_missing_updates)).
  - The apt backend resolves like C(apt-get -s dist-upgrade), in-process with python3-apt
    where it is present and by parsing C(apt-get -s) otherwise, and reports upgrades, newly
    pulled-in dependencies, removals and kept-back packages. Its C(released) date is the
    changelog date of the candidate once its .deb is staged in apt's archive cache; else it
    stays empty and the scan's first-seen date stands in.
  - Installs nothing. Only the package index is refreshed, and never in check mode. A source
    that cannot be refreshed makes the index stale (RV(index)), not the scan failed.
options:
  backend:
    description:
      - The package manager to ask. V(auto) detects it (apt, then dnf, then zypper, then macOS).
    type: str
    default: auto
    choices: [auto, apt, dnf, zypper, macos]
  update_cache:
    description:
      - Refresh the package index (C(apt-get update), dnf/zypper metadata) before resolving.
      - Never done in check mode.
    type: bool
    default: true
  vendor_origins:
    description:
      - Release origins (apt) or vendors (dnf, zypper) that count as the operating system's
        own archives. Updates from anybody else are classified V(third_party).
    type: list
    elements: str
    default: [Debian, Ubuntu]
  reboot_packages:
    description:
      - Shell-style patterns of package names whose update needs a reboot, for package
        managers that carry no reboot data (apt, and dnf, which does not print
        C(reboot_suggested)). Matching updates get C(reboot=true).
    type: list
    elements: str
    default: ['linux-image-*', 'linux-modules-*', 'libc6', 'systemd', 'dbus', 'kernel', 'kernel-*', 'glibc']
  releasever:
    description:
      - Release version for dnf on hosts without a release package (C(--releasever)).
    type: str
  homebrew:
    description:
      - On macOS, also list outdated Homebrew formulae and casks (third-party software).
    type: bool
    default: true
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: [posix, darwin]
author:
  - patchpilot developers (@patchpilot)
"""

EXAMPLES = r"""
- name: Find what the host is missing
  patchpilot.fleet.missing_updates:
  register: scan

- name: Without refreshing the index, counting our own archive as the vendor's
  patchpilot.fleet.missing_updates:
    update_cache: false
    vendor_origins: [Debian, Example Corp]
"""

RETURN = r"""
backend:
  description: The backend that answered.
  returned: success
  type: str
  sample: apt
cache_updated:
  description: Whether the package index was refreshed (false too when a source failed; see RV(index)).
  returned: success
  type: bool
  sample: true
index:
  description:
    - The package index the updates were resolved from.
    - When a source cannot be refreshed (it answers 404, refuses the connection, fails its
      signature check), the host is not failed; it is scanned from the index it has, C(stale) is
      true and C(errors) names each failing source with apt's own words. A policy can fail such
      a host in the plan instead (C(scan.stale_index), docs/policy.md). Anything else
      C(apt-get update) stops on (a held lock) fails the module.
    - Only the apt backend detects a stale index; for the others C(stale) is always false.
  returned: success
  type: dict
  contains:
    refreshed:
      description: The refresh was done and every source answered.
      type: bool
    stale:
      description: A refresh was tried and at least one source failed.
      type: bool
    age_seconds:
      description:
        - Age of the newest index file under C(/var/lib/apt/lists) (apt stamps each with the
          server's modification time), taken before a refresh that failed; null when unknown.
      type: int
    errors:
      description:
        - One item per failing source, C(source) as apt names it (URI and suite) and
          C(message), apt's words.
      type: list
      elements: dict
  sample:
    refreshed: false
    stale: true
    age_seconds: 93784
    errors:
      - source: "http://mirror.example.org/debian stable"
        message: "Could not connect to mirror.example.org:80 (192.0.2.10). - connect (111: Connection refused)"
updates:
  description:
    - One record per package. See C(plugins/module_utils/records.py) for every field.
  returned: success
  type: list
  elements: dict
  sample:
    - name: libssl3
      installed_version: 3.0.19-1~deb12u2
      candidate_version: 3.0.22-1~deb12u2
      arch: amd64
      source: {repository: "http://security.example.org/debian-security", origin: Debian,
               label: Debian-Security, suite: bookworm-security}
      classification: security
      severity: null
      advisories: []
      cves: []
      reboot: false
      first_seen: null
      released: null
      effect: upgrade
      backend: apt
summary:
  description: Counts of the records by effect and classification.
  returned: success
  type: dict
  sample: {total: 8, upgrade: 6, new_dependency: 1, removal: 1, kept_back: 0, security: 1}
"""

import os
import shutil

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.respawn import has_respawned, probe_interpreters_for_module, respawn_module

from ansible_collections.patchpilot.fleet.plugins.module_utils.records import (
    BackendError,
    RecordError,
    index_problem,
    make_index,
    sort_key,
    summarise,
)
from ansible_collections.patchpilot.fleet.plugins.module_utils.backends import apt as apt_backend
from ansible_collections.patchpilot.fleet.plugins.module_utils.backends import dnf as dnf_backend
from ansible_collections.patchpilot.fleet.plugins.module_utils.backends import macos as macos_backend
from ansible_collections.patchpilot.fleet.plugins.module_utils.backends import zypper as zypper_backend

# Imported by name, not looked up at run time: Ansible ships a module only the
# module_utils it imports by name.
BACKENDS = {
    "dnf": dnf_backend,
    "zypper": zypper_backend,
    "macos": macos_backend,
}
_DETECT = (("apt", "apt-get"), ("dnf", "dnf"), ("zypper", "zypper"), ("macos", "softwareupdate"))


def detect_backend() -> str | None:
    for backend, tool in _DETECT:
        if shutil.which(tool) or os.path.exists(os.path.join("/usr/bin", tool)):
            return backend
    return None


def _import_python_apt():
    """python3-apt if this interpreter has it; else respawn under one that does; else None."""
    try:
        import apt  # pylint: disable=import-outside-toplevel  # python3-apt is optional
        return apt
    except ImportError:
        pass
    if not has_respawned():
        interpreter = probe_interpreters_for_module(["/usr/bin/python3"], "apt")
        if interpreter:
            respawn_module(interpreter)  # does not return
    return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            backend=dict(type="str", default="auto", choices=["auto", "apt", "dnf", "zypper", "macos"]),
            update_cache=dict(type="bool", default=True),
            vendor_origins=dict(type="list", elements="str", default=["Debian", "Ubuntu"]),
            reboot_packages=dict(type="list", elements="str",
                                 default=["linux-image-*", "linux-modules-*", "libc6", "systemd", "dbus",
                                          "kernel", "kernel-*", "glibc"]),
            releasever=dict(type="str"),
            homebrew=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    backend = params["backend"] if params["backend"] != "auto" else detect_backend()
    if backend is None:
        module.fail_json(msg="no supported package manager found (apt, dnf, zypper, softwareupdate); "
                             "set backend explicitly")
    options = {
        "update_cache": params["update_cache"] and not module.check_mode,
        "vendor_origins": params["vendor_origins"],
        "reboot_packages": params["reboot_packages"],
        "releasever": params["releasever"],
        "homebrew": params["homebrew"],
    }

    def run(argv, environ_update=None, binary=False):
        env = environ_update or {"LANG": "C", "LC_ALL": "C"}
        if binary:
            return module.run_command(argv, environ_update=env, encoding=None)
        return module.run_command(argv, environ_update=env)

    try:
        if backend == "apt":
            apt = _import_python_apt()
            records, index = apt_backend.scan(run, options, apt_module=apt)
        else:
            records = BACKENDS[backend].collect(run, options)
            index = make_index(refreshed=options["update_cache"])
    except (BackendError, RecordError) as exc:
        module.fail_json(msg=str(exc), backend=backend)
    updates = sorted((r.as_dict() for r in records), key=sort_key)
    problem = index_problem(index)
    module.exit_json(changed=False, backend=backend, cache_updated=index["refreshed"], index=index,
                     updates=updates, summary=summarise(updates), warnings=[problem] if problem else [])


if __name__ == "__main__":
    main()
