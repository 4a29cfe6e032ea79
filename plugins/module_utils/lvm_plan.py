# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The LVM snapshot provider as a plan: pure functions, no host access.

A run takes a copy-on-write snapshot of one logical volume before patching
(``lvcreate --snapshot``, done with community.general.lvol), and a rollback
merges it back into its origin (``lvconvert --merge VG/SNAP``). A merge of an
origin that is in use (the root file system, a mounted volume) cannot start at
once: LVM defers it to the origin's next activation, that is a reboot, or
``lvchange -an`` / ``-ay`` of an unmounted origin. Cleanup after a good run
removes the snapshot.

Everything here validates its input and returns data (argument dicts for
community.general.lvol, argv lists, notes); the snapshot and rollback roles
run it. Bad input raises LvmPlanError with a message naming the variable.
"""

from __future__ import annotations

import re

# lvm(8) "VALID NAMES": letters, digits and + _ . -, not starting with '-'.
_NAME = re.compile(r"^[A-Za-z0-9+_.][A-Za-z0-9+_.-]*$")
# Names LVM refuses, and substrings reserved for its internal volumes.
_RESERVED_NAMES = (".", "..", "snapshot", "pvmove")
_RESERVED_PARTS = ("_cdata", "_cmeta", "_corig", "_mlog", "_mimage", "_pmspare", "_rimage", "_rmeta",
                   "_tdata", "_tmeta", "_vorigin", "_vdata")
# community.general.lvol's size: a number with an optional unit, or a
# percentage of VG, PVS, FREE or ORIGIN.
_SIZE = re.compile(r"^(?:\d+(?:\.\d+)?[bBsSkKmMgGtTpPeE]?|\d{1,3}%(?:VG|PVS|FREE|ORIGIN))$")
MAX_NAME = 127
SNAPSHOT_SUFFIX = "-ppsnap-"


class LvmPlanError(ValueError):
    """Input the plan cannot use; the message names the variable."""


def validate_name(value, variable):
    """Return value when it is a valid LVM volume group or logical volume name."""
    if not isinstance(value, str) or not value:
        raise LvmPlanError(f"{variable}: an LVM name is required, got {value!r}")
    if len(value) > MAX_NAME:
        raise LvmPlanError(f"{variable}: {value!r} is longer than {MAX_NAME} characters")
    if not _NAME.match(value):
        raise LvmPlanError(f"{variable}: {value!r} is not a valid LVM name (letters, digits, + _ . -; "
                           "not starting with -)")
    if value in _RESERVED_NAMES or value.startswith("snapshot") or value.startswith("pvmove"):
        raise LvmPlanError(f"{variable}: {value!r} is a name LVM reserves")
    if any(part in value for part in _RESERVED_PARTS):
        raise LvmPlanError(f"{variable}: {value!r} contains a suffix LVM reserves for internal volumes")
    return value


def validate_size(value, variable="snapshot_lvm_size"):
    """Return the size as community.general.lvol takes it (C(1G), C(512m), C(20%ORIGIN))."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return f"{value}m"
    if not isinstance(value, str) or not _SIZE.match(value.strip()):
        raise LvmPlanError(f"{variable}: {value!r} is not a size such as 2G, 512m or 20%ORIGIN")
    size = value.strip()
    if float(re.match(r"^\d+(?:\.\d+)?", size).group(0)) <= 0:
        raise LvmPlanError(f"{variable}: {value!r} must be larger than zero")
    return size


def snapshot_name(lv, run_id, name=""):
    """The snapshot's name: the given one, or ``<lv>-ppsnap-<run_id>`` (run id cleaned for LVM)."""
    if name:
        return validate_name(name, "snapshot_lvm_snapshot_name")
    validate_name(lv, "snapshot_lvm_lv")
    if not isinstance(run_id, str) or not run_id:
        raise LvmPlanError("snapshot_run_id: required to name the LVM snapshot")
    cleaned = re.sub(r"[^A-Za-z0-9+_.-]", "_", run_id)
    generated = f"{lv}{SNAPSHOT_SUFFIX}{cleaned}"[:MAX_NAME]
    return validate_name(generated, "snapshot_lvm_snapshot_name (generated from snapshot_lvm_lv and snapshot_run_id)")


def plan(vg, lv, size, run_id, name=""):
    """The whole plan for one origin volume: snapshot, revert and cleanup.

    Returns a dict that is stored in snapshot.json as it is, so the rollback
    role needs nothing but that file:

    * ``lvol``: arguments for community.general.lvol that take the snapshot;
    * ``snapshot_argv``: the same as an lvcreate command line (for the record);
    * ``verify_argv``: lvs of the snapshot (exit 0 when it exists);
    * ``revert``: the steps of a rollback, each ``{argv, note}``;
    * ``cleanup_lvol``: community.general.lvol arguments that remove it;
    * ``cleanup_argv``: the same as the lvremove command line retention runs
      (roles/retention, module_utils/retention.py).
    """
    validate_name(vg, "snapshot_lvm_vg")
    validate_name(lv, "snapshot_lvm_lv")
    size = validate_size(size)
    snap = snapshot_name(lv, run_id, name)
    if snap == lv:
        raise LvmPlanError(f"snapshot_lvm_snapshot_name: {snap!r} is the origin's own name")
    return {
        "vg": vg,
        "lv": lv,
        "snapshot": snap,
        "size": size,
        "lvol": lvol_snapshot_args(vg, lv, snap, size),
        "snapshot_argv": ["lvcreate", "--snapshot", "--size", size, "--name", snap, f"{vg}/{lv}"],
        "verify_argv": ["lvs", "--noheadings", "-o", "lv_name,origin,lv_attr", f"{vg}/{snap}"],
        "revert": revert_steps(vg, lv, snap),
        "cleanup_lvol": lvol_cleanup_args(vg, snap),
        "cleanup_argv": cleanup_argv(vg, snap, lv),
    }


def lvol_snapshot_args(vg, lv, snap, size):
    """community.general.lvol arguments: a snapshot named snap of vg/lv with size copy-on-write space."""
    return {"vg": vg, "lv": lv, "snapshot": snap, "size": size, "state": "present"}


def lvol_cleanup_args(vg, snap):
    """community.general.lvol arguments that remove the snapshot after a good run."""
    return {"vg": vg, "lv": snap, "state": "absent", "force": True}


def cleanup_argv(vg, snap, lv=None):
    """The lvremove command line that removes the snapshot ``vg/snap`` (retention, after a good run).

    Checks the names again (they come from a stored snapshot.json): never the origin ``lv`` itself.
    """
    validate_name(vg, "lvm record: vg")
    validate_name(snap, "lvm record: snapshot")
    if lv is not None and snap == lv:
        raise LvmPlanError(f"lvm record: the snapshot {snap!r} is the origin's own name; not removed")
    return ["lvremove", "--force", f"{vg}/{snap}"]


def revert_steps(vg, lv, snap):
    """The rollback: merge the snapshot into its origin, then activate the origin again.

    ``lvconvert --merge`` starts at once when the origin is not open; when it
    is (mounted, the root file system), LVM schedules the merge for the
    origin's next activation, which the second step does for an unmounted
    volume and a reboot does for the root file system. The snapshot
    disappears once the merge completed.
    """
    return [
        {"argv": ["lvconvert", "--merge", f"{vg}/{snap}"],
         "note": f"merge {vg}/{snap} back into {vg}/{lv}; deferred to the next activation while {vg}/{lv} is open"},
        {"argv": ["lvchange", "--refresh", f"{vg}/{lv}"],
         "note": f"reactivate {vg}/{lv} so a deferred merge starts; if {vg}/{lv} is the root file system or "
                 "stays mounted, reboot the host instead: the merge runs on the next boot"},
    ]


def merge_pending(lvs_attr):
    """True when an ``lvs -o lv_attr`` value says a merge is still pending or running.

    The first attribute character is the volume type: ``S`` is a merging
    snapshot, ``O`` an origin with a merging snapshot.
    """
    attr = (lvs_attr or "").strip()
    return bool(attr) and attr[0] in ("S", "O")
