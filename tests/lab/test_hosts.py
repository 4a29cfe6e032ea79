"""The lab's hosts are real, distinct Debian machines reached over SSH with host keys checked."""

from __future__ import annotations

import csv
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.lab

INST = re.compile(r"^Inst (\S+) (?:\[\S+\] )?\((\S+) ")


def test_every_host_answers_ansible_with_its_own_identity(lab):
    results = lab.ansible_json("all", "-m", "ansible.builtin.setup", "-a",
                               "gather_subset=!all,network,distribution")
    facts = {name: result["ansible_facts"] for name, result in results.items()}
    assert sorted(facts) == sorted(h["name"] for h in lab.hosts)
    for host in lab.hosts:
        got = facts[host["name"]]
        assert got["ansible_distribution"] == "Debian"
        assert got["ansible_distribution_major_version"] == host["release"]
        assert got["ansible_default_ipv4"]["address"] == host["ip"]
        assert got["ansible_default_ipv4"]["macaddress"] == host["mac"]
    addresses = [f["ansible_default_ipv4"]["address"] for f in facts.values()]
    macs = [f["ansible_default_ipv4"]["macaddress"] for f in facts.values()]
    assert len(set(addresses)) == len(addresses) and len(set(macs)) == len(macs)


def test_releases_are_mixed(lab):
    """Three Debian hosts or more cover Debian 11, 12 and 13; fewer take a release each, from 11 on."""
    debian = [h for h in lab.hosts if h["role"] != "rpm"]
    assert debian
    releases = [h["release"] for h in debian]
    if len(debian) >= 3:
        assert set(releases) == {"11", "12", "13"}
    else:
        assert releases == ["11", "12"][:len(debian)]


def test_each_host_has_its_own_network_namespace(lab):
    """Every host runs pplab-web on port 8080 on its own address: the ports do not collide."""
    first, second = lab.hosts[0], lab.hosts[1]
    for host in (first, second):
        out = lab.ssh(host, "ss -Htln 'sport = :8080'").stdout
        assert ":8080" in out, f"{host['name']} does not listen on 8080: {out}"
    # From the first host, the second one's service answers on the second one's address.
    probe = ("python3 -c \"import urllib.request,sys;"
             f"print(urllib.request.urlopen('http://{second['ip']}:8080/',timeout=5).status)\"")
    assert lab.ssh(first, probe).stdout.strip() == "200"
    netns = {lab.ssh(h, "readlink /proc/self/ns/net").stdout.strip() for h in lab.hosts}
    assert len(netns) == len(lab.hosts)


def test_host_key_checking_is_on(lab, tmp_path):
    """An SSH client that does not already know the host's key is refused (no trust on first use)."""
    host = lab.hosts[0]
    argv = lab.ssh_argv(host, "true")
    argv[argv.index(f"UserKnownHostsFile={lab.state['known_hosts']}")] = f"UserKnownHostsFile={tmp_path / 'empty'}"
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode != 0
    assert "Host key verification failed" in proc.stderr
    # And the key the lab recorded is the one the host presents.
    scanned = subprocess.run(["ssh-keyscan", "-t", "ed25519", "-p", str(host["ssh_port"]), "127.0.0.1"],
                             capture_output=True, text=True, timeout=60, check=True).stdout.split()
    recorded = Path(lab.state["known_hosts"]).read_text(encoding="utf-8")
    assert scanned[-1] in recorded


def unwrap(value):
    """ansible-inventory marks CMDB values as unsafe ({"__ansible_unsafe": value}): read the value."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def test_inventory_groups_and_cmdb(lab):
    """The lab's inventory is the assets plugin over the CMDB; the static file has the same groups."""
    static = yaml.safe_load(Path(lab.state["static_inventory"]).read_text(encoding="utf-8"))
    children = static["all"]["children"]
    assert static["all"]["vars"]["ansible_ssh_common_args"].count("StrictHostKeyChecking=yes") == 1
    listed = unwrap(json.loads(lab.ansible_tool("ansible-inventory", "--list").stdout))
    for host in lab.hosts:
        for group in (host["role"], f"debian{host['release']}", host["location"].replace("-", "_")):
            assert host["name"] in children[group]["hosts"], (group, host["name"])
            assert host["name"] in listed[group]["hosts"], (group, host["name"])
        assert children["lab"]["hosts"][host["name"]]["ansible_port"] == host["ssh_port"]
        hostvars = listed["_meta"]["hostvars"][host["name"]]
        assert hostvars["ansible_port"] == host["ssh_port"]
        assert hostvars["patchpilot_asset"]["location"] == host["location"]
        assert "StrictHostKeyChecking=yes" in hostvars["ansible_ssh_common_args"]
    cmdb_path = Path(lab.state["cmdb"])
    rows = {r["hostname"]: r for r in csv.DictReader(cmdb_path.open(encoding="utf-8"))}
    assert sorted(rows) == sorted(h["name"] for h in lab.hosts)
    for host in lab.hosts:
        row = rows[host["name"]]
        assert row["ip_address"] == host["ip"] and row["mac_address"] == host["mac"]
        assert row["os_version"] == host["release"] and row["location"] == host["location"]
        for column in ("owner", "criticality", "data_sensitivity", "internet_exposed"):
            assert row[column], f"{host['name']}: empty {column}"


def test_hosts_start_with_old_versions_and_running_services(lab, manifest):
    seeded = {p["name"]: p for p in manifest["packages"] if p.get("seed_version")}
    assert seeded, "the manifest lists no seed packages"
    query = "dpkg-query -W -f '${Package} ${Version} ${db:Status-Abbrev}\\n' " + " ".join(sorted(seeded))
    for host in lab.hosts:
        lines = lab.ssh(host, query).stdout.split("\n")
        installed = {ln.split()[0]: ln.split()[1] for ln in lines if ln.strip() and ln.split()[2] == "ii"}
        assert installed == {n: p["seed_version"] for n, p in seeded.items()}, host["name"]
        units = lab.ssh(host, "systemctl list-units --no-legend --plain --state=running 'pplab-*'").stdout
        assert "pplab-web.service" in units, f"{host['name']}: {units}"
        assert lab.ssh(host, "systemctl is-system-running").stdout.strip() == "running"


def test_every_host_has_the_known_pending_updates(lab, manifest):
    """apt-get -s dist-upgrade on each host shows exactly the repository's pending set."""
    main = [p for p in manifest["packages"] if p.get("candidate_version") and p.get("candidate_component") == "main"]
    # Upgrades of installed packages, and the new packages they pull in; nothing else (no faults).
    expected = {p["name"]: p["candidate_version"] for p in main if p.get("seed_version") or p.get("pulled_in_by")}
    removed = {p["name"] for p in manifest["packages"] if p.get("removed_by")}
    assert expected and removed
    for host in lab.hosts:
        out = lab.ssh(host, "LANG=C apt-get -s dist-upgrade").stdout
        inst = {m.group(1): m.group(2) for m in map(INST.match, out.splitlines()) if m}
        assert inst == expected, f"{host['name']}:\n{out}"
        assert {line.split()[1] for line in out.splitlines() if line.startswith("Remv ")} == removed, out
