"""apt backend, apt-get path: real apt-get output (recorded fixtures) in, update records out."""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.backends import apt
from ansible_collections.patchpilot.fleet.plugins.module_utils.records import BackendError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
OPTIONS = {"update_cache": True, "vendor_origins": ["Debian", "Fixture Repo"], "reboot_packages": ["pp-kernel*"],
           "apt_archives": "/nonexistent/archives"}
POLICY_OUT = """pp-blocked:
  Installed: 1.0-1
  Candidate: 2.0-1
  Version table:
     2.0-1 500
        500 file:/srv/fixture fixture/main amd64 Packages
 *** 1.0-1 100
        100 /var/lib/dpkg/status
"""


class FakeRun:
    def __init__(self, sim_text, update_rc=0, sim_rc=0, sim_err=""):
        self.calls = []
        self.sim_text, self.update_rc, self.sim_rc, self.sim_err = sim_text, update_rc, sim_rc, sim_err

    def __call__(self, argv, environ_update=None):
        self.calls.append(argv)
        assert environ_update and environ_update["LANG"] == "C"
        if argv[:2] == ["apt-get", "update"]:
            return self.update_rc, "", "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 42"
        if argv[:2] == ["apt-get", "-s"]:
            return self.sim_rc, self.sim_text, self.sim_err
        if argv[:2] == ["apt-cache", "policy"]:
            return 0, POLICY_OUT, ""
        raise AssertionError(f"unexpected command {argv}")


def by_name(records):
    return {r.name: r.as_dict() for r in records}


def test_bookworm_simulation_becomes_records():
    run = FakeRun((FIXTURES / "bookworm-dist-upgrade.txt").read_text(encoding="utf-8"))
    records = by_name(apt.collect(run, OPTIONS))
    assert run.calls[0] == ["apt-get", "update", "-q"]
    ssl = records["pp-ssl"]
    assert (ssl["installed_version"], ssl["candidate_version"], ssl["effect"]) == ("1:1.0-1", "1:1.0-1+sec1", "upgrade")
    assert ssl["classification"] == "security"
    assert ssl["source"]["label"] == "Fixture Repo Security" and ssl["source"]["suite"] == "fixture-security"
    assert records["perl-base"]["classification"] == "security"
    # Offered by the plain and the security archive: security wins.
    assert records["pp-tool"]["classification"] == "security"
    assert records["pp-agent"]["classification"] == "enhancement"  # 1.0 -> 2.0 from the vendor's archive
    assert records["pp-libnew"]["effect"] == "new_dependency" and records["pp-libnew"]["installed_version"] is None
    assert records["pp-legacy"]["effect"] == "removal" and records["pp-legacy"]["installed_version"] == "0.9-1"
    kept = [r for r in records.values() if r["effect"] == "kept_back"]
    assert [(r["name"], r["installed_version"], r["candidate_version"]) for r in kept] == [("pp-blocked", "1.0-1", "2.0-1")]
    assert all(r["backend"] == "apt" for r in records.values())


def test_no_refresh_when_told_not_to():
    run = FakeRun((FIXTURES / "bookworm-up-to-date.txt").read_text(encoding="utf-8"))
    assert apt.collect(run, dict(OPTIONS, update_cache=False)) == []
    assert all(call[:2] != ["apt-get", "update"] for call in run.calls)


def test_locked_index_is_a_backend_error():
    run = FakeRun("", update_rc=100)
    with pytest.raises(BackendError, match="apt-get update failed .*Could not get lock"):
        apt.collect(run, OPTIONS)


def test_broken_dependencies_are_a_backend_error():
    text = (FIXTURES / "bookworm-unmet-depends.txt").read_text(encoding="utf-8")
    with pytest.raises(BackendError, match="apt-get -s dist-upgrade"):
        apt.collect(FakeRun(text, sim_rc=100), dict(OPTIONS, update_cache=False))


@pytest.mark.parametrize("name, patterns, expected", [
    ("linux-image-amd64", ["linux-image-*"], True), ("bash", ["linux-image-*"], False), ("bash", [], None),
])
def test_reboot_hint(name, patterns, expected):
    assert apt.reboot_hint(name, patterns) is expected


def test_changelog_date_of_the_newest_entry():
    text = ("pplab-web (1.0-2) lab; urgency=medium\n\n  * Fix.\n\n"
            " -- Patchpilot Lab <lab@patchpilot.invalid>  Tue, 10 Feb 2026 11:00:00 +0000\n\n"
            "pplab-web (1.0-1) lab; urgency=low\n\n  * First.\n\n"
            " -- Patchpilot Lab <lab@patchpilot.invalid>  Mon, 05 Jan 2026 09:00:00 +0000\n")
    assert apt.changelog_date(text) == "2026-02-10"
    assert apt.changelog_date("no trailer") is None


def test_staged_deb_path(tmp_path):
    (tmp_path / "pp-ssl_1%3a1.0-1+sec1_amd64.deb").write_bytes(b"!<arch>\n")
    assert apt.staged_deb("pp-ssl", "1:1.0-1+sec1", "amd64", str(tmp_path)).endswith("pp-ssl_1%3a1.0-1+sec1_amd64.deb")
    assert apt.staged_deb("pp-ssl", "1:1.0-2", "amd64", str(tmp_path)) is None
