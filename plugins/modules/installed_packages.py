#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: the installed packages of a host, from dpkg or rpm, one record per package."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: installed_packages
short_description: Read the installed packages from dpkg or rpm, one record per package
version_added: 0.1.0
description:
  - Runs C(dpkg-query -W) (apt hosts) or C(rpm -qa) (dnf hosts) once and returns one record per
    package (name, architecture, version, status).
  - The one reader of installed packages of the collection's roles and playbooks (snapshot
    baseline, patch before and after, rollback comparison, the run's final read-back).
  - Reads only; supports check mode.
options:
  names:
    description:
      - The packages to report. Empty reports every package the database knows.
      - A name the database does not know is reported with status C(absent).
    type: list
    elements: str
    default: []
  manager:
    description:
      - The package manager whose database is read. C(apt) and C(dpkg) read dpkg's,
        C(dnf), C(dnf5), C(yum) and C(rpm) read rpm's.
      - C(auto) reads dpkg's when C(dpkg-query) is on the path, else rpm's. A host that has both
        (a Debian host managed with dnf) must name its manager.
    type: str
    default: auto
    choices: [auto, apt, dpkg, dnf, dnf5, yum, rpm]
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
- name: Read the planned packages
  patchpilot.fleet.installed_packages:
    names: [openssl, libssl3]
    manager: "{{ patchpilot_backend | default('auto') }}"
  register: installed

- name: Show the installed version of openssl
  ansible.builtin.debug:
    msg: "{{ installed.versions['openssl'] | default('not installed') }}"
"""

RETURN = r"""
database:
  description: The database read.
  returned: success
  type: str
  sample: dpkg
packages:
  description:
    - One record per package (per name and architecture), in the database's order; with
      O(names), one per name asked for (several for a name with several architectures).
    - C(version) is dpkg's Version, or rpm's C(EPOCHNUM:VERSION-RELEASE).
    - C(status) is one of C(installed), C(config-files), C(not-installed), C(half-installed),
      C(unpacked), C(half-configured), C(triggers-awaited), C(triggers-pending), C(absent).
    - C(present) says the package has files on disk; C(clean) that it is installed without error
      and wanted installed (or held).
  returned: success
  type: list
  elements: dict
  sample:
    - {name: openssl, arch: amd64, version: 3.0.15-1~deb12u1, status: installed, selection: install,
       abbrev: ii, present: true, clean: true}
versions:
  description: "{name: version} of the present packages."
  returned: success
  type: dict
  sample: {openssl: 3.0.15-1~deb12u1}
architectures:
  description: "{name: architecture} of the present packages."
  returned: success
  type: dict
  sample: {openssl: amd64}
config_files:
  description: "{name: version} of packages only configuration files are left of (dpkg status C(rc))."
  returned: success
  type: dict
  sample: {pp-old: 1.0-1}
unhealthy:
  description: "{name: dpkg status} of present packages not cleanly installed."
  returned: success
  type: dict
  sample: {pp-broken: iF}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.patchpilot.fleet.plugins.module_utils.installed_packages import (
    DPKG_FORMAT,
    MANAGERS,
    RPM_FORMAT,
    InstalledPackagesError,
    parse_query,
    select,
    summary,
)


def main():
    module = AnsibleModule(
        argument_spec={
            "names": {"type": "list", "elements": "str", "default": []},
            "manager": {"type": "str", "default": "auto", "choices": ["auto"] + sorted(MANAGERS)},
        },
        supports_check_mode=True,
    )
    manager = module.params["manager"]
    if manager == "auto":
        manager = "dpkg" if module.get_bin_path("dpkg-query") else "rpm"
    database = MANAGERS[manager]
    if database == "dpkg":
        argv = [module.get_bin_path("dpkg-query", required=True), "-W", "-f", DPKG_FORMAT]
    else:
        argv = [module.get_bin_path("rpm", required=True), "-qa", "--qf", RPM_FORMAT]
    rc, out, err = module.run_command(argv, environ_update={"LANG": "C", "LC_ALL": "C"})
    if rc != 0:
        module.fail_json(msg=f"{' '.join(argv[:2])} failed (rc {rc}): {err.strip()[:600]}", rc=rc)
    try:
        records = select(parse_query(database, out), module.params["names"])
    except InstalledPackagesError as exc:
        module.fail_json(msg=str(exc))
    facts = summary(records)
    module.exit_json(changed=False, database=database, packages=records, versions=facts["versions"],
                     architectures=facts["architectures"], config_files=facts["config_files"],
                     unhealthy=facts["unhealthy"])


if __name__ == "__main__":
    main()
