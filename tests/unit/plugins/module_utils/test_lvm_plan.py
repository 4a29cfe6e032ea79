"""The LVM snapshot plan: names, sizes, the lvol arguments, revert and cleanup steps."""

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.lvm_plan import (
    LvmPlanError,
    lvol_cleanup_args,
    lvol_snapshot_args,
    merge_pending,
    plan,
    revert_steps,
    snapshot_name,
    validate_name,
    validate_size,
)


def test_plan_for_a_root_volume():
    result = plan("vg0", "root", "2G", "20261127T133356Z-1a35b3")
    assert result["snapshot"] == "root-ppsnap-20261127T133356Z-1a35b3"
    assert result["lvol"] == {"vg": "vg0", "lv": "root", "snapshot": "root-ppsnap-20261127T133356Z-1a35b3",
                              "size": "2G", "state": "present"}
    assert result["snapshot_argv"] == ["lvcreate", "--snapshot", "--size", "2G", "--name",
                                       "root-ppsnap-20261127T133356Z-1a35b3", "vg0/root"]
    assert result["verify_argv"][-1] == "vg0/root-ppsnap-20261127T133356Z-1a35b3"
    assert result["revert"][0]["argv"] == ["lvconvert", "--merge", "vg0/root-ppsnap-20261127T133356Z-1a35b3"]
    assert result["revert"][1]["argv"] == ["lvchange", "--refresh", "vg0/root"]
    assert "reboot" in result["revert"][1]["note"]
    assert result["cleanup_lvol"] == {"vg": "vg0", "lv": "root-ppsnap-20261127T133356Z-1a35b3",
                                      "state": "absent", "force": True}


def test_plan_with_an_explicit_name_and_percentage():
    result = plan("data", "srv", "20%ORIGIN", "r1", name="srv-before")
    assert result["snapshot"] == "srv-before" and result["size"] == "20%ORIGIN"
    assert result["revert"][0]["argv"] == ["lvconvert", "--merge", "data/srv-before"]


def test_the_plan_is_plain_data():
    import json

    result = plan("vg0", "root", 512, "run")
    assert json.loads(json.dumps(result)) == result
    assert result["size"] == "512m"


@pytest.mark.parametrize("run_id, expected", [
    ("20261127T133356Z-1a35b3", "lv-ppsnap-20261127T133356Z-1a35b3"),
    ("run with spaces/and:colons", "lv-ppsnap-run_with_spaces_and_colons"),
])
def test_snapshot_name_cleans_the_run_id(run_id, expected):
    assert snapshot_name("lv", run_id) == expected


def test_snapshot_name_is_cut_to_lvm_length():
    assert len(snapshot_name("lv", "x" * 300)) == 127


def test_snapshot_name_needs_a_run_id():
    with pytest.raises(LvmPlanError, match="snapshot_run_id"):
        snapshot_name("lv", "")


@pytest.mark.parametrize("value", ["vg0", "data_vg", "a.b+c-d", "_x"])
def test_valid_names(value):
    assert validate_name(value, "snapshot_lvm_vg") == value


@pytest.mark.parametrize("value, message", [
    ("", "an LVM name is required"),
    (None, "an LVM name is required"),
    (5, "an LVM name is required"),
    ("-vg", "not a valid LVM name"),
    ("vg/0", "not a valid LVM name"),
    ("vg 0", "not a valid LVM name"),
    ("..", "reserves"),
    ("snapshot1", "reserves"),
    ("pvmove0", "reserves"),
    ("data_tmeta", "reserves for internal volumes"),
    ("x" * 128, "longer than 127"),
])
def test_invalid_names_name_the_variable(value, message):
    with pytest.raises(LvmPlanError, match=message) as err:
        validate_name(value, "snapshot_lvm_lv")
    assert str(err.value).startswith("snapshot_lvm_lv: ")


@pytest.mark.parametrize("value, expected", [
    ("1G", "1G"), ("512m", "512m"), (" 2g ", "2g"), ("1.5G", "1.5G"), ("20%ORIGIN", "20%ORIGIN"),
    ("100%FREE", "100%FREE"), ("10%VG", "10%VG"), (1024, "1024m"),
])
def test_valid_sizes(value, expected):
    assert validate_size(value) == expected


@pytest.mark.parametrize("value", ["", "G", "1Q", "-1G", "0", "0G", "20%", "20%ORIGINS", True, 0, -3, None, "1 G"])
def test_invalid_sizes(value):
    with pytest.raises(LvmPlanError, match="^snapshot_lvm_size: "):
        validate_size(value)


def test_plan_names_the_bad_variable():
    with pytest.raises(LvmPlanError, match="^snapshot_lvm_vg: "):
        plan("", "root", "1G", "r")
    with pytest.raises(LvmPlanError, match="^snapshot_lvm_lv: "):
        plan("vg", "-root", "1G", "r")
    with pytest.raises(LvmPlanError, match="^snapshot_lvm_size: "):
        plan("vg", "root", "lots", "r")
    with pytest.raises(LvmPlanError, match="origin's own name"):
        plan("vg", "root", "1G", "r", name="root")


def test_helpers_agree_with_the_plan():
    result = plan("vg", "lv", "1G", "r")
    assert result["lvol"] == lvol_snapshot_args("vg", "lv", result["snapshot"], "1G")
    assert result["cleanup_lvol"] == lvol_cleanup_args("vg", result["snapshot"])
    assert result["revert"] == revert_steps("vg", "lv", result["snapshot"])


@pytest.mark.parametrize("attr, expected", [
    ("Swi-a-s---", True),     # merging snapshot
    ("Owi-aos---", True),     # origin with a merging snapshot
    ("swi-a-s---", False),    # plain snapshot
    ("owi-aos---", False),    # plain origin
    ("-wi-ao----", False),
    ("", False),
    (None, False),
])
def test_merge_pending(attr, expected):
    assert merge_pending(attr) is expected


def test_the_cleanup_step_is_an_lvremove_of_the_snapshot_only():
    from ansible_collections.patchpilot.fleet.plugins.module_utils.lvm_plan import cleanup_argv

    result = plan("vg0", "root", "2G", "r1")
    assert result["cleanup_argv"] == ["lvremove", "--force", "vg0/root-ppsnap-r1"]
    assert cleanup_argv("vg0", "root-ppsnap-r1") == result["cleanup_argv"]
    with pytest.raises(LvmPlanError, match="origin's own name"):
        cleanup_argv("vg0", "root", "root")
    with pytest.raises(LvmPlanError, match="not a valid LVM name"):
        cleanup_argv("vg0", "-rf")
