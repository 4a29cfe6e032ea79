"""A lab host reboots for real through ansible.builtin.reboot and comes back."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.lab

PLAYBOOK = """\
- name: Reboot one lab host
  hosts: "{host}"
  gather_facts: false
  tasks:
    - name: Reboot and wait for the new boot
      ansible.builtin.reboot:
        # Containers share the kernel, so boot_id never changes; PID 1's start
        # time (field 22 of /proc/1/stat) does.
        boot_time_command: cut -d' ' -f22 /proc/1/stat
        reboot_timeout: 180
      register: reboot
    - name: Show the result
      ansible.builtin.debug:
        var: reboot
"""


def test_reboot_through_ansible(lab, tmp_path):
    host = lab.hosts[0]
    before_start = lab.ssh(host, "cut -d' ' -f22 /proc/1/stat").stdout.strip()
    lab.ssh(host, "sudo touch /run/patchpilot-before-reboot")
    playbook = tmp_path / "reboot.yml"
    playbook.write_text(PLAYBOOK.format(host=host["name"]), encoding="utf-8")
    proc = lab.playbook(str(playbook))
    assert re.search(r'"?rebooted"?: true', proc.stdout), proc.stdout
    after_start = lab.ssh(host, "cut -d' ' -f22 /proc/1/stat").stdout.strip()
    assert after_start != before_start, "PID 1 did not restart"
    # /run is a fresh tmpfs after a real reboot, and systemd came up cleanly.
    assert lab.ssh(host, "test -e /run/patchpilot-before-reboot", check=False).returncode != 0
    assert lab.ssh(host, "systemctl is-system-running --wait").stdout.strip() == "running"
    assert lab.ssh(host, "systemctl is-active pplab-web").stdout.strip() == "active"
