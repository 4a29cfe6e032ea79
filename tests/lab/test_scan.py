"""Discovery on real hosts: the scan reports exactly what apt-get -s dist-upgrade reports.

apt's output is parsed here with a few regular expressions of the test's own,
independently of the project's parser and of python3-apt.
"""

from __future__ import annotations

import contextlib
import csv
import json
import re
import sqlite3
import subprocess
from datetime import date
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab

INST = re.compile(r"^Inst (\S+) (?:\[(\S+)\] )?\((\S+) (.*) \[(\S+)\]\)")
REMV = re.compile(r"^Remv (\S+) \[(\S+)\]")
VENDOR = "vendor_origins=Debian,'Patchpilot Lab' reboot_packages=pplab-kernel"

# Debian's published support ends, the test's own table: (security team, Debian LTS).
DEBIAN_SUPPORT_ENDS = {
    "11": (date(2024, 8, 14), date(2026, 8, 31)),
    "12": (date(2026, 7, 11), date(2028, 6, 30)),
    "13": (date(2028, 8, 9), date(2030, 6, 30)),
}


def expected_eol_status(release: str, today: date) -> str:
    regular, lts = DEBIAN_SUPPORT_ENDS[release]
    return "supported" if today <= regular else "extended" if today <= lts else "outdated"


def apt_truth(lab, host) -> dict:
    """What apt-get -s dist-upgrade says, parsed by the test itself."""
    out = lab.ssh(host, "LANG=C apt-get -s dist-upgrade").stdout
    truth = {"upgrade": {}, "new_dependency": {}, "removal": {}, "kept_back": set()}
    lines = out.splitlines()
    for line in lines:
        m = INST.match(line)
        if m:
            effect = "upgrade" if m.group(2) else "new_dependency"
            truth[effect][m.group(1)] = (m.group(2), m.group(3), m.group(4))
        m = REMV.match(line)
        if m:
            truth["removal"][m.group(1)] = m.group(2)
    for i, line in enumerate(lines):
        if line.startswith(("The following packages have been kept back:", "The following packages have been held back:",
                            "Not upgrading:")):
            for follow in lines[i + 1:]:
                if not follow.startswith(" "):
                    break
                truth["kept_back"].update(follow.split())
    return truth


def scan_host(lab, host, *extra) -> dict:
    results = lab.ansible_json(host["name"], "-m", "patchpilot.fleet.missing_updates", "-a",
                               " ".join((VENDOR, *extra)))
    result = results[host["name"]]
    assert not result.get("failed"), result
    return result


def test_missing_updates_matches_apt_on_every_host(lab):
    for host in lab.hosts:
        if host.get("role") == "rpm":
            continue
        result = scan_host(lab, host)
        truth = apt_truth(lab, host)
        got = {effect: {r["name"]: r for r in result["updates"] if r["effect"] == effect}
               for effect in ("upgrade", "new_dependency", "removal", "kept_back")}
        assert {n: (v[0], v[1]) for n, v in truth["upgrade"].items()} == \
            {n: (r["installed_version"], r["candidate_version"]) for n, r in got["upgrade"].items()}, host["name"]
        assert {n: v[1] for n, v in truth["new_dependency"].items()} == \
            {n: r["candidate_version"] for n, r in got["new_dependency"].items()}
        assert truth["removal"] == {n: r["installed_version"] for n, r in got["removal"].items()}
        assert truth["kept_back"] == set(got["kept_back"])
        # The lab has a new dependency and a removal on every host.
        assert "pplab-agent-plugins" in got["new_dependency"] and "pplab-monitor-compat" in got["removal"]
        seclib = got["upgrade"]["pplab-seclib"]
        assert seclib["classification"] == "security", seclib
        assert seclib["source"]["label"] == "Patchpilot Lab-Security" and seclib["source"]["suite"] == "lab-security"
        assert "Patchpilot Lab-Security:lab-security" in truth["upgrade"]["pplab-seclib"][2]
        others = {n: r["classification"] for n, r in got["upgrade"].items() if n != "pplab-seclib"}
        assert "security" not in others.values(), others
        assert result["backend"] == "apt"


def test_held_package_is_kept_back(lab):
    host = lab.hosts[0]
    lab.ssh(host, "sudo apt-mark hold pplab-legacy")
    try:
        truth = apt_truth(lab, host)
        assert "pplab-legacy" in truth["kept_back"] and "pplab-legacy" not in truth["upgrade"]
        result = scan_host(lab, host, "update_cache=false")
        kept = {r["name"]: r for r in result["updates"] if r["effect"] == "kept_back"}
        assert set(kept) == truth["kept_back"]
        assert (kept["pplab-legacy"]["installed_version"], kept["pplab-legacy"]["candidate_version"]) == ("1.0-1", "2.0-1")
    finally:
        lab.ssh(host, "sudo apt-mark unhold pplab-legacy")


def test_check_mode_does_not_refresh_the_index(lab):
    host = lab.hosts[0]
    stamp = "stat -c %Y /var/lib/apt/lists/_srv_patchpilot-repo_archive_dists_lab_InRelease 2>/dev/null || " \
            "stat -c %Y /var/lib/apt/lists/*lab_InRelease"
    before = lab.ssh(host, f"sudo sh -c '{stamp}'").stdout
    lab.ssh(host, "sleep 1.1")
    results = lab.ansible_json(host["name"], "--check", "-m", "patchpilot.fleet.missing_updates", "-a", VENDOR)
    assert results[host["name"]]["cache_updated"] is False
    assert lab.ssh(host, f"sudo sh -c '{stamp}'").stdout == before


def test_asset_facts_are_all_filled(lab):
    results = lab.ansible_json("all", "-m", "patchpilot.fleet.asset_facts")
    for host in lab.hosts:
        asset = results[host["name"]]["asset"]
        empty = [k for k, v in asset.items() if v is None or v == "" and k != "reboot_pending_packages"]
        assert not empty, f"{host['name']}: empty asset fields {empty}"
        assert asset["hostname"] == host["name"]
        assert asset["ip_address"] == host["ip"] and asset["mac_address"] == host["mac"]
        assert asset["os_version"] == host["release"] and asset["os_codename"] == host["codename"]
        assert asset["installed_packages"] > 50 and asset["package_manager"] == "apt"
        assert asset["reboot_pending"] is False
        # the machine's identity: the host's own /etc/machine-id (each lab container has its own)
        assert asset["machine_id"] == lab.ssh(host, "cat /etc/machine-id").stdout.strip(), host["name"]
        assert "machine_id_reason" not in asset
        assert asset["packages_digest"].startswith("sha256:")
    machine_ids = [results[host["name"]]["asset"]["machine_id"] for host in lab.hosts]
    assert len(set(machine_ids)) == len(lab.hosts), machine_ids


def _locked_apt(lab, host) -> subprocess.Popen:
    """Hold apt's list lock on the host the way another apt would (fcntl), until killed."""
    holder = ("sudo python3 -c \"import fcntl,time;f=open('/var/lib/apt/lists/lock','w');"
              "fcntl.lockf(f,fcntl.LOCK_EX);print('locked',flush=True);time.sleep(600)\"")
    proc = subprocess.Popen(lab.ssh_argv(host, holder), stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_scan_playbook_reports_every_host_in_priority_order(lab, tmp_path, manifest):
    locked_host = [h for h in lab.hosts if h["role"] != "rpm"][-1]
    # A host that no longer answers: an inventory entry on a loopback port nobody listens on.
    inventory = tmp_path / "extra.yml"
    inventory.write_text("all:\n  hosts:\n    ghost01:\n      ansible_host: 127.0.0.1\n      ansible_port: 2399\n",
                         encoding="utf-8")
    # A Debian Security Tracker export (the user's download) naming the lab's security fix.
    tracker = tmp_path / "tracker.json"
    tracker.write_text(json.dumps({"pplab-seclib": {"CVE-2026-90001": {
        "description": "lab flaw", "scope": "local",
        "releases": {codename: {"status": "resolved", "fixed_version": "1.0-1+lab1sec1", "urgency": "high",
                                "repositories": {codename: "1.0-1"}}
                     for codename in ("bullseye", "bookworm", "trixie")}}}}), encoding="utf-8")
    holder = _locked_apt(lab, locked_host)
    try:
        proc = lab.playbook("-i", str(inventory), "playbooks/scan.yml",
                            "-e", f"patchpilot_report_dir={tmp_path / 'report'}",
                            "-e", f"patchpilot_state_dir={tmp_path / 'state'}",
                            "-e", f"patchpilot_changelog_cache={tmp_path / 'changelogs'}",
                            "-e", f"patchpilot_security_tracker={tracker}",
                            "-e", json.dumps({"patchpilot_priority_policy": {"emergency": {"cves": ["CVE-2026-90001"]}}}),
                            check=False)
    finally:
        holder.kill()
        lab.ssh(locked_host, "sudo pkill -f lists/lock || true", check=False)
    assert proc.returncode in (0, 4), proc.stdout[-4000:]  # 4: some host unreachable
    report = tmp_path / "report" / "scan"  # scan reports go to the report directory's scan/
    assets_json = json.loads((report / "assets.json").read_text())
    assets = {a["host"]: a for a in assets_json["assets"]}
    scan_date = date.fromisoformat(assets_json["scan_date"])
    with open(Path(lab.inventory).parent / "cmdb.csv", encoding="utf-8") as handle:
        cmdb = {row["hostname"]: row for row in csv.DictReader(handle)}
    assert assets["ghost01"]["status"] == "unreachable"
    assert assets[locked_host["name"]]["status"] == "failed", proc.stdout[-5000:]
    assert "lock" in assets[locked_host["name"]]["reason"].lower(), assets[locked_host["name"]]
    scanned = [h for h in lab.hosts if h is not locked_host]
    for host in scanned:
        row = assets[host["name"]]
        assert row["status"] == "scanned" and row["location"] == host["location"], row
        assert (row["criticality"], row["owner"]) == (cmdb[host["name"]]["criticality"], cmdb[host["name"]]["owner"])
        assert row["eol_status"] == expected_eol_status(host["release"], scan_date), (row, scan_date)
        if host["role"] != "rpm":
            assert row["missing_updates"] == len(apt_truth(lab, host)["upgrade"])
    updates = json.loads((report / "updates.json").read_text())["updates"]
    assert {u["host"] for u in updates} == {h["name"] for h in scanned}
    scores = [(not u["emergency"], -u["score"]) for u in updates]
    assert scores == sorted(scores), "updates are not in priority order"
    # The most urgent row: the security update on the most critical host (db: criticality high).
    first = updates[0]
    assert first["name"] == "pplab-seclib" and first["classification"] == "security"
    assert first["host"].startswith("db"), first
    assert any(u["backend"] == "dnf" for u in updates) == any(h["role"] == "rpm" for h in lab.hosts)
    for row in (u for u in updates if u["name"] == "pplab-seclib"):
        assert "CVE-2026-90001" in row["cves"] and row["severity"] == "high", row
        # The policy names that CVE as an emergency: critical, due on the scan date, first in line.
        assert row["emergency"] and row["effective_severity"] == "critical", row
        assert row["due"] == json.loads((report / "updates.json").read_text())["scan_date"]
    apt_hosts = len([h for h in scanned if h["role"] != "rpm"])
    assert all(u["emergency"] for u in updates[:apt_hosts]) and not updates[apt_hosts]["emergency"]
    rows = list(csv.DictReader((report / "updates.csv").open(encoding="utf-8")))
    assert [r["name"] for r in rows] == [u["name"] for u in updates]
    assert list(csv.DictReader((report / "assets.csv").open(encoding="utf-8")))
    # Every apt upgrade says what its Debian changelog says: the CVEs, the candidate's upload date,
    # its urgency. The security suite publishes its changelogs (a Changelogs: field, as Debian's
    # archive has): those are read from there; the lab suite's are read out of the .deb.
    versions = {(p["name"], v["version"]): v for p in manifest["packages"] for v in p["versions"]}
    apt_upgrades = [u for u in updates if u["backend"] == "apt" and u["effect"] == "upgrade"]
    assert apt_upgrades
    for row in apt_upgrades:
        candidate = versions[(row["name"], row["candidate_version"])]
        assert row["released"] == candidate["date"][:10], row
        assert set(candidate["cves"]) <= set(row["cves"]), row
        if f"{row['name']}={row['candidate_version']}" in manifest["changelogs"]["published"]:
            path = f"main/{row['name'][0]}/{row['name']}/{row['name']}_{row['candidate_version']}"
            assert row["changelog"]["origin"] == manifest["changelogs"]["url"].replace("@CHANGEPATH@", path), row
        else:
            assert row["changelog"]["origin"] == f"deb:{row['name']}_{row['candidate_version']}_all.deb", row
        assert row["changelog"]["urgency"] == candidate["urgency"], row
    assert {u["changelog"]["origin"].split(":")[0] for u in apt_upgrades} == {"file", "deb"}  # both ways
    # One read per source version for the whole fleet, kept in the controller's cache (0600 files).
    cached = sorted((tmp_path / "changelogs").glob("*.json"))
    assert [p.name for p in cached] == sorted({f"{u['name']}_{u['candidate_version']}.json" for u in apt_upgrades})
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in cached)
    # A second scan reads none again: the cache answers (no file rewritten), the records still say it.
    written = {p.name: p.stat().st_mtime_ns for p in cached}
    again = lab.playbook("playbooks/scan.yml", "--limit", first["host"], "-e", f"patchpilot_report_dir={tmp_path / 'again'}",
                         "-e", f"patchpilot_changelog_cache={tmp_path / 'changelogs'}")
    assert "Read those changelogs" in again.stdout
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "changelogs").glob("*.json")} == written
    rows = json.loads((tmp_path / "again" / "scan" / "updates.json").read_text())["updates"]
    seclib = next(u for u in rows if u["name"] == "pplab-seclib")
    assert set(seclib["cves"]) == {"CVE-2026-90001", "CVE-2026-90002"} and seclib["severity"] == "high", seclib
    # A second scan keeps the first-seen dates, in the state directory's history store (private: 0600).
    with contextlib.closing(sqlite3.connect(tmp_path / "state" / "history.sqlite")) as store:
        seen = dict(store.execute("SELECT host || '|' || package, day FROM first_seen").fetchall())
    assert oct((tmp_path / "state" / "history.sqlite").stat().st_mode & 0o777) == "0o600"
    assert seen and all(re.match(r"\d{4}-\d{2}-\d{2}$", d) for d in seen.values())
    assert oct((report / "updates.json").stat().st_mode & 0o777) == "0o640"


def test_released_date_once_staged(lab, manifest):
    """Before staging, apt knows no release date; once the .deb is downloaded, its changelog date."""
    host = next(h for h in lab.hosts if h["role"] != "rpm")
    web = next(p for p in manifest["packages"] if p["name"] == "pplab-web")
    candidate = next(v for v in web["versions"] if v["version"] == web["candidate_version"])
    before = {r["name"]: r for r in scan_host(lab, host, "update_cache=false")["updates"]}
    assert before["pplab-web"]["released"] is None
    # A file: repository is used in place, so stage the way the stage role will: into apt's archive cache.
    lab.ssh(host, "cd /var/cache/apt/archives && sudo apt-get download -q pplab-web")
    try:
        after = {r["name"]: r for r in scan_host(lab, host, "update_cache=false")["updates"]}
        assert after["pplab-web"]["released"] == candidate["date"][:10], candidate
        assert after["pplab-seclib"]["released"] is None  # not staged
    finally:
        lab.ssh(host, "sudo apt-get clean")


BAD_SOURCES = (
    # a port on the host's own loopback that refuses the connection
    "deb http://127.0.0.2:9/debian stable main\n"
    # the lab's own repository over http on the host's loopback, at a suite it does not have: 404
    "deb [signed-by=/etc/apt/keyrings/patchpilot-lab.gpg] http://127.0.0.1:8099/archive no-such-dist main\n"
)
NEWEST_LIST = ("find /var/lib/apt/lists -maxdepth 1 -type f ! -name lock -printf '%T@\\n' | sort -n | tail -1; "
               "date +%s")


def test_unrefreshable_sources_leave_the_index_stale_with_apts_words(lab):
    host = next(h for h in lab.hosts if h.get("role") != "rpm" and h.get("release") == "12")
    pid = lab.ssh(host, "cd /srv/patchpilot-repo && { python3 -m http.server --bind 127.0.0.1 8099 "
                        "</dev/null >/dev/null 2>&1 & echo $!; }").stdout.strip()
    assert pid.isdigit(), pid
    try:
        lab.ssh(host, f"printf '{BAD_SOURCES}' | sudo tee /etc/apt/sources.list.d/broken.list >/dev/null")
        newest, now = (float(x) for x in lab.ssh(host, NEWEST_LIST).stdout.split())
        result = lab.ansible_json(host["name"], "-m", "patchpilot.fleet.missing_updates", "-a", VENDOR,
                                  check=False)[host["name"]]
        assert not result.get("failed"), result
        index = result["index"]
        assert index["stale"] is True and index["refreshed"] is False and result["cache_updated"] is False
        errors = {e["source"]: e["message"] for e in index["errors"]}
        assert set(errors) == {"http://127.0.0.2:9/debian stable", "http://127.0.0.1:8099/archive no-such-dist"}
        assert "Connection refused" in errors["http://127.0.0.2:9/debian stable"], errors
        assert "404" in errors["http://127.0.0.1:8099/archive no-such-dist"], errors
        assert "does not have a Release file" in errors["http://127.0.0.1:8099/archive no-such-dist"], errors
        assert abs(index["age_seconds"] - (now - newest)) <= 60, (index, now - newest)
        assert any("could not be refreshed" in w and "127.0.0.2:9" in w for w in result.get("warnings", [])), result
        # The updates of the index it has are all listed, as apt itself resolves them.
        truth = apt_truth(lab, host)
        got = {r["name"]: r["candidate_version"] for r in result["updates"] if r["effect"] == "upgrade"}
        assert got and got == {n: v[1] for n, v in truth["upgrade"].items()}
    finally:
        lab.ssh(host, f"kill {pid}; sudo rm -f /etc/apt/sources.list.d/broken.list && sudo apt-get update -q")
