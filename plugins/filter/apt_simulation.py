# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The apt_simulation filter: apt-get -s dist-upgrade output into update records."""

from __future__ import annotations

DOCUMENTATION = r"""
name: apt_simulation
short_description: Parse C(apt-get -s dist-upgrade) output into update records
version_added: 0.1.0
description:
  - Turns the output of C(apt-get -s dist-upgrade), run with C(LANG=C), into the
    pending upgrades, new packages, removals and kept back packages it announces.
  - Understands Debian 11, 12 and 13, including the apt 3 layout (C(Upgrading:),
    C(Summary:)) that C(apt) prints, as does C(apt-get) when configured with
    C(APT::Output-Version=30).
  - Fails with apt's own message when the output holds an apt error (an C(E:) or
    C(Error:) line), and when the input is not apt output at all. Empty input
    (as C(apt-get -qq -s) prints when nothing is pending) gives empty lists.
positional: _input
options:
  _input:
    description:
      - The command's standard output, as a string (C(result.stdout)) or a list of
        lines (C(result.stdout_lines)).
    type: raw
    required: true
author:
  - patchpilot developers
"""

EXAMPLES = r"""
- name: Simulate a dist-upgrade
  ansible.builtin.command:
    cmd: apt-get -s dist-upgrade
  environment:
    LANG: C
    LC_ALL: C
  register: simulation
  changed_when: false
  check_mode: false

- name: Show the pending security upgrades
  ansible.builtin.debug:
    msg: "{{ (simulation.stdout | patchpilot.fleet.apt_simulation).upgrades | selectattr('security') | map(attribute='name') | list }}"
"""

RETURN = r"""
_value:
  description: What the simulated dist-upgrade would do.
  type: dict
  contains:
    upgrades:
      description:
        - Installed packages apt would upgrade, in apt's order.
        - Each update has C(name) (without apt's C(:arch) qualifier), C(arch),
          C(installed_version), C(candidate_version), C(sources) and C(security).
        - Each source has C(origin) (the archive's Release Label, what apt prints
          before the colon; null if it has none), C(release) (its Version, or null),
          C(suite) (its Suite, such as C(stable-security)) and C(arch).
        - C(security) is true when a source's suite ends with C(-security) or its
          origin contains C(security) (any case).
      type: list
      elements: dict
      sample:
        - name: libssl3
          arch: amd64
          installed_version: 3.0.19-1~deb12u2
          candidate_version: 3.0.22-1~deb12u2
          sources:
            - origin: Debian-Security
              release: "12"
              suite: oldstable-security
              arch: amd64
          security: true
    new:
      description: Packages apt would newly install (dependencies), as in RV(upgrades), with C(installed_version) null.
      type: list
      elements: dict
      sample:
        - name: pp-libnew
          arch: all
          installed_version: null
          candidate_version: 1.0-1
          sources:
            - origin: Fixture Repo
              release: null
              suite: fixture
              arch: all
          security: false
    removals:
      description: Packages apt would remove, with C(name), C(arch) (null unless apt qualified the name) and C(installed_version).
      type: list
      elements: dict
      sample:
        - name: pp-legacy
          arch: null
          installed_version: 0.9-1
    kept_back:
      description: Names of upgradable packages apt leaves alone (held, unresolvable, or deferred by phasing).
      type: list
      elements: str
      sample: [pp-held]
    summary:
      description:
        - apt's own counts, from its summary line. When apt printed none (C(-qq)), they are counted from the lists.
      type: dict
      contains:
        upgraded:
          description: Number of packages to upgrade.
          type: int
        newly_installed:
          description: Number of packages to install.
          type: int
        removed:
          description: Number of packages to remove.
          type: int
        not_upgraded:
          description: Number of upgradable packages left alone.
          type: int
      sample:
        upgraded: 9
        newly_installed: 1
        removed: 1
        not_upgraded: 2
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.patchpilot.fleet.plugins.module_utils.apt_simulation import (
    AptSimulationError,
    parse_apt_simulation,
)


def apt_simulation(output):
    """Parse apt-get -s dist-upgrade output; see DOCUMENTATION."""
    if isinstance(output, (list, tuple)):
        output = "\n".join(str(line) for line in output)
    elif output is not None and not isinstance(output, str):
        raise AnsibleFilterError(
            f"apt_simulation expects the command's stdout (a string), got {type(output).__name__}"
        )
    try:
        return parse_apt_simulation(output)
    except AptSimulationError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    """patchpilot.fleet filters for apt output."""

    def filters(self):
        return {"apt_simulation": apt_simulation}
