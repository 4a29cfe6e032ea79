"""rollback_later.kept_material and source_verdict: what a later rollback needs, and whether it is still there."""

from __future__ import annotations

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.rollback_later import (RollbackLaterError,
                                                                                      kept_material, source_verdict)

ARCHIVE, HOST_DIR = "/runs/r1/archive/web1", "/var/cache/patchpilot/runs/r1"
DEBS = [{"name": "pplab-web", "version": "1.0-1", "file": "pplab-web_1.0-1_all.deb", "sha256": "aa"},
        {"name": "pplab-lib", "version": "2.0-1", "file": "pplab-lib_2.0-1_all.deb", "sha256": "bb"}]


def snapshot(provider="package", **section):
    return {"format": 1, "host": "web1", "run_id": "r1", "provider": provider, "packages": {"pplab-web": "1.0-1"},
            provider: section}


def kept(snap):
    return kept_material(snap, "web1", "r1", ARCHIVE, HOST_DIR)


def check(*good):
    return {"good": list(good), "missing": [], "corrupt": []}


def test_apt_packages_from_the_host_cache_or_the_archive_or_both():
    material = kept(snapshot(debs=DEBS))
    assert material["debs"] == {"pplab-web_1.0-1_all.deb": "aa", "pplab-lib_2.0-1_all.deb": "bb"}
    assert material["baseline"] == {"pplab-web": "1.0-1"} and material["host_debs_dir"] == f"{HOST_DIR}/rollback"
    both = list(material["debs"])
    assert source_verdict(material, check(*both), check())["source"] == "the host's cache"
    assert source_verdict(material, check(), check(*both))["source"] == "the run's archive"
    mixed = source_verdict(material, check(both[0]), check(both[1]))
    assert mixed["possible"] and mixed["source"] == "the host's cache and the run's archive"


def test_apt_packages_gone_from_both_change_nothing_and_name_what_is_left():
    material = kept(snapshot(debs=DEBS))
    verdict = source_verdict(material, check(), check("pplab-web_1.0-1_all.deb"))
    assert verdict["possible"] is False and verdict["missing"] == ["pplab-lib_2.0-1_all.deb"]
    assert verdict["left"]["package_archive"] == {"path": f"{ARCHIVE}/rollback", "files": ["pplab-web_1.0-1_all.deb"]}
    assert "gone (retention?): pplab-lib_2.0-1_all.deb" in verdict["message"]
    assert f"package archive {ARCHIVE}/rollback (pplab-web_1.0-1_all.deb)" in verdict["message"]
    assert f"host cache {HOST_DIR}/rollback (none of the kept packages)" in verdict["message"]
    assert verdict["message"].endswith("Nothing was changed")
    assert source_verdict(material, None, None)["possible"] is False  # not looked at: nothing found


def test_a_btrfs_or_lvm_snapshot_must_exist_on_the_host():
    material = kept(snapshot("btrfs", subvolume="/srv", snapshot="/.snaps/srv-r1"))
    assert material["host_paths"] == ["/.snaps/srv-r1"] and material["snapshot_id"] == "/.snaps/srv-r1"
    assert source_verdict(material, host_paths={"/.snaps/srv-r1": True})["possible"]
    gone = source_verdict(material, host_paths={"/.snaps/srv-r1": False})
    assert not gone["possible"] and "left: snapshot id /.snaps/srv-r1" in gone["message"]
    lvm = kept(snapshot("lvm", vg="vg0", lv="root", snapshot="root-pp-r1"))
    assert lvm["host_paths"] == ["/dev/vg0/root-pp-r1"] and lvm["snapshot_id"] == "vg0/root-pp-r1"
    assert not source_verdict(lvm, host_paths={})["possible"]


def test_dnf_and_aws_ebs_are_left_to_the_rollback_role_and_none_never_works():
    dnf = kept(dict(snapshot(dnf_transaction_id=7), package_manager="dnf"))
    assert dnf["debs"] == {} and source_verdict(dnf)["possible"] and dnf["snapshot_id"] == "dnf transaction 7"
    ebs = kept(snapshot("aws_ebs", volumes=[{"volume_id": "vol-1", "snapshot_id": "snap-1"}]))
    assert source_verdict(ebs) == {"possible": True, "source": "the aws_ebs snapshot snap-1", "missing": [],
                                   "left": {"package_archive": None, "host_cache": None, "snapshot_id": "snap-1"},
                                   "message": "rolling back from the aws_ebs snapshot snap-1"}
    assert not source_verdict(kept(snapshot("none", note="x")))["possible"]


def test_no_snapshot_json_or_another_hosts_is_refused():
    gone = source_verdict(kept(None))
    assert not gone["possible"] and "no snapshot.json in /runs/r1/archive/web1" in gone["message"]
    with pytest.raises(RollbackLaterError, match="is not a snapshot of web1 in run r1: host 'db1'"):
        kept(dict(snapshot(debs=DEBS), host="db1"))
