# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rolling back a finished run later (``playbooks/rollback.yml``): may this host of this run be
rolled back, from what, and what is left when the run's snapshot is gone.

Plain Python, no Ansible runtime. The ``run_rollback_source`` action asks
:func:`host_verdict` (from the run record) and :func:`kept_material` (from
the host's ``snapshot.json`` in the run's archive); the playbook looks on the
host and in the archive for that material, and the ``rollback_source`` filter
asks :func:`source_verdict` whether it is all still there. The rollback itself
is the rollback role's, verified like an automatic one; the
``run_rollback_record`` action records it (:meth:`runrecord.RunDir.record_later`).

A host may be rolled back later when its run is finished (not ``running``) and
the run changed it: it reached ``snapshotted`` (the snapshot was taken, packages
may have changed after it) and ended ``done``, ``failed`` (its automatic rollback
failed) or ``abandoned``. A host already ``rolled_back``, or one the run never
changed, is refused.

What a rollback needs, per provider (``snapshot.json``):

* ``package`` (apt): every kept ``.deb`` (``package.debs``), with its sha256, in
  the host's cache (``/var/cache/patchpilot/runs/<id>/rollback``) or in the run's
  archive on the controller (``<run>/archive/<host>/rollback``, copied back by the
  rollback role);
* ``package`` (dnf): the recorded ``dnf history`` transaction (dnf keeps it);
* ``btrfs``: the read-only snapshot subvolume on the host;
* ``lvm``: the snapshot volume on the host (``/dev/<vg>/<snapshot>``);
* ``aws_ebs``: the EBS snapshots (checked by the rollback role itself);
* ``none``: nothing: never possible.

When something is gone (retention removed it), nothing is changed and the
answer names what is left: the package archive paths and the files still in
them, the snapshot id.
"""

from __future__ import annotations

__all__ = ["CHANGED_PHASES", "LATER_PHASES", "RollbackLaterError", "host_verdict", "kept_material", "later_record",
           "source_verdict"]

#: Phases that mean the run took the host's snapshot (and may have changed it after).
CHANGED_PHASES = ("snapshotted", "patched", "verified", "done")
#: The phases a host may end in and still be rolled back later.
LATER_PHASES = ("done", "failed", "abandoned")
PROVIDERS = ("package", "btrfs", "lvm", "aws_ebs", "none")


class RollbackLaterError(ValueError):
    """A snapshot.json that does not describe this host of this run."""


def host_verdict(run: dict, host: str, record: dict | None) -> dict:
    """May ``host`` of ``run`` (run.json) be rolled back later? ``record`` is its host record
    (hosts/<host>.json), None when the run has no such host.

    {allowed, reason}
    """
    run_id, state = run.get("run_id"), run.get("state")
    if state == "running":
        return {"allowed": False,
                "reason": f"run {run_id} is still unfinished (running): let it end, or close it"
                          " (playbooks/close_run.yml), before rolling a host back later"}
    if record is None:
        return {"allowed": False, "reason": f"{host} is not a host of run {run_id}: nothing of it to roll back"}
    phase = record.get("phase")
    history = record.get("history") or ()
    reached = [entry.get("phase") for entry in history if isinstance(entry, dict)]
    if phase == "rolled_back":
        when = history[-1].get("at") if history and isinstance(history[-1], dict) else None
        return {"allowed": False, "reason": f"{host} was rolled back already in run {run_id}"
                                            + (f" (at {when})" if when else "")}
    if phase not in LATER_PHASES or not any(p in CHANGED_PHASES for p in reached):
        return {"allowed": False,
                "reason": f"{host} was not changed by run {run_id} (it ended {phase}, its snapshot never taken):"
                          " nothing to roll back"}
    return {"allowed": True, "reason": f"{host} ended {phase} in run {run_id} ({state}) after its snapshot"}


def kept_material(snapshot: dict | None, host: str, run_id: str, archive_dir: str, host_dir: str) -> dict:
    """What a rollback of ``host`` needs, from its ``snapshot.json`` (None: there is none).

    {provider, package_manager, snapshot_id, debs: {file: sha256}, archive_debs_dir, host_debs_dir,
    host_paths: [paths that must exist on the host], baseline: {name: version}, note}
    """
    out = {"provider": None, "package_manager": None, "snapshot_id": None, "debs": {},
           "archive_debs_dir": f"{archive_dir}/rollback", "host_debs_dir": f"{host_dir}/rollback",
           "host_paths": [], "baseline": {}, "note": None}
    if snapshot is None:
        out["note"] = f"no snapshot.json in {archive_dir}: the run kept no snapshot of {host}, or it was removed"
        return out
    if not isinstance(snapshot, dict):
        raise RollbackLaterError(f"{archive_dir}/snapshot.json: not a snapshot record")
    provider = snapshot.get("provider")
    if snapshot.get("host") != host or snapshot.get("run_id") != run_id or provider not in PROVIDERS:
        raise RollbackLaterError(f"{archive_dir}/snapshot.json is not a snapshot of {host} in run {run_id}: host"
                                 f" {snapshot.get('host')!r}, run {snapshot.get('run_id')!r}, provider {provider!r}")
    details = snapshot.get(provider) if isinstance(snapshot.get(provider), dict) else {}
    manager = snapshot.get("package_manager") or "apt"
    out.update(provider=provider, package_manager=manager, baseline=dict(snapshot.get("packages") or {}))
    if provider == "package" and manager == "apt":
        debs = [d for d in details.get("debs") or () if isinstance(d, dict) and d.get("file")]
        out["debs"] = {d["file"]: d.get("sha256") or "" for d in debs}
        out["archive_debs_dir"] = f"{archive_dir}/{details.get('dir') or 'rollback'}"
    elif provider == "package":
        out["snapshot_id"] = f"dnf transaction {details.get('dnf_transaction_id')}"
    elif provider == "btrfs":
        out["snapshot_id"] = details.get("snapshot")
        out["host_paths"] = [details["snapshot"]] if details.get("snapshot") else []
    elif provider == "lvm":
        if details.get("vg") and details.get("snapshot"):
            out["snapshot_id"] = f"{details['vg']}/{details['snapshot']}"
            out["host_paths"] = [f"/dev/{details['vg']}/{details['snapshot']}"]
    elif provider == "aws_ebs":
        ids = [v.get("snapshot_id") for v in details.get("volumes") or () if isinstance(v, dict) and v.get("snapshot_id")]
        out["snapshot_id"] = ", ".join(ids) or None
        out["note"] = "the EBS snapshots are checked by the rollback itself"
    return out


def _files(check) -> set:
    """The good files of a deb_files verify answer (None or skipped: none)."""
    return set((check or {}).get("good") or ()) if isinstance(check, dict) else set()


def source_verdict(kept: dict, host_check=None, archive_check=None, host_paths=None) -> dict:
    """Is the material ``kept`` (:func:`kept_material`) still there? ``host_check`` and
    ``archive_check`` are deb_files verify answers for the host's cache and the run's archive
    (their ``good`` files count), ``host_paths`` {path: exists} on the host.

    {possible, source, missing, left: {package_archive, host_cache, snapshot_id}, message}
    """
    provider = kept.get("provider")
    in_host, in_archive = _files(host_check), _files(archive_check)
    host_paths = host_paths or {}
    left = {"package_archive": None, "host_cache": None, "snapshot_id": kept.get("snapshot_id")}
    if kept.get("debs") or in_archive:
        left["package_archive"] = {"path": kept["archive_debs_dir"], "files": sorted(in_archive)}
    if kept.get("debs") or in_host:
        left["host_cache"] = {"path": kept["host_debs_dir"], "files": sorted(in_host)}
    missing, source = [], None
    if provider is None:
        missing = ["snapshot.json"]
    elif provider == "none":
        missing = ["a snapshot (the run's provider was none)"]
    elif kept.get("debs"):
        missing = sorted(f for f in kept["debs"] if f not in in_host and f not in in_archive)
        source = ("the host's cache" if all(f in in_host for f in kept["debs"]) else
                  "the run's archive" if all(f in in_archive for f in kept["debs"]) else
                  "the host's cache and the run's archive")
    elif provider in ("btrfs", "lvm"):
        if not kept.get("host_paths"):
            missing = [f"the {provider} snapshot (snapshot.json names none)"]
        missing = missing or [p for p in kept["host_paths"] if not host_paths.get(p)]
        source = f"the {provider} snapshot {kept.get('snapshot_id')}"
    else:
        source = f"the {provider} snapshot" + (f" {kept['snapshot_id']}" if kept.get("snapshot_id") else "")
    if missing:
        what = [f"{label} {left[key]['path']} ({', '.join(left[key]['files']) or 'none of the kept packages'})"
                for key, label in (("package_archive", "package archive"), ("host_cache", "host cache"))
                if left[key]]
        if left["snapshot_id"]:
            what.append(f"snapshot id {left['snapshot_id']}")
        note = f" ({kept['note']})" if kept.get("note") and provider is None else ""
        return {"possible": False, "source": None, "missing": missing, "left": left,
                "message": f"cannot roll back: gone (retention?): {', '.join(missing)}{note}; left:"
                           f" {'; '.join(what) or 'nothing'}. Nothing was changed"}
    return {"possible": True, "source": source, "missing": [], "left": left,
            "message": f"rolling back from {source}"}


def later_record(detail: dict, by: dict, source: str | None) -> dict:
    """What the run record keeps of a later rollback: {phase, detail}.

    ``detail`` is the rollback's record (rollback_check.rollback_record: the role's result
    and its two facts, versions_restored and healthy; or what failed). The detail gets
    ``later``, who did it (``by``: {user, job_id}) and from what; a fact not said true is
    false. The phase is ``rolled_back`` when the versions are back (healthy or not, as an
    automatic rollback), else ``failed``: the host is in neither its patched nor its
    previous state, and somebody must look at it.
    """
    out = dict(detail or {})
    out.update(later=True, by={"user": (by or {}).get("user"), "job_id": (by or {}).get("job_id")}, source=source)
    out["versions_restored"] = out.get("versions_restored", False) is True
    out["healthy"] = out["versions_restored"] and out.get("healthy", False) is True
    return {"phase": "rolled_back" if out["versions_restored"] else "failed", "detail": out}
