# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The patch-management audit checklist, kept once: each step, the feature of this
collection that does it, and the rule that finds a run's evidence in the history store.

:data:`CHECKLIST` is the data (the HTML report's "Audit checklist" section and
docs/reports.md show it). Each rule is a function ``rule(run, records)``: ``run``
is the run's row of the report (report_model.py: ``run_id``, ``user``,
``approved_by``, ``change_ticket``, ``policy_digest``, ...) or None when the store
holds no run; ``records`` are that run's records (history_records.py). A rule
returns the evidence as one sentence, or None: the step was not done in that run
(the report shows "not done" in red).

Plain Python, no Ansible runtime.
"""

from __future__ import annotations

__all__ = ["CHECKLIST", "RULES", "evaluate"]


def _of(records, kind, state=None):
    return [r for r in records if r.get("kind") == kind and (state is None or r.get("state") == state)]


def _data(record) -> dict:
    return record.get("data") if isinstance(record.get("data"), dict) else {}


def _phases(record) -> list:
    return [p.get("phase") for p in _data(record).get("phases") or [] if isinstance(p, dict)]


def _hosts(records) -> str:
    names = sorted({r.get("host") for r in records if r.get("host")})
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return f"{len(names)} host{'s' * (len(names) != 1)} ({shown})"


def inventory(run, records):
    assets = [r for r in _of(records, "asset") if _data(r).get("hostname") or r.get("machine_id")]
    return f"asset facts of {_hosts(assets)} recorded" if assets else None


def priorities(run, records):
    ranked = [r for r in _of(records, "update") if _data(r).get("due") and _data(r).get("severity")]
    return f"{len(ranked)} update records with a severity and an SLA due date" if ranked else None


def policy(run, records):
    if run and run.get("policy_digest"):
        approver = f", approved by {run['approved_by']}" if run.get("approved_by") else ""
        return f"policy {str(run['policy_digest'])[:19]}{approver}"
    return None


def monitoring(run, records):
    watched = [r for r in _of(records, "host") if "preflight" in _phases(r)]
    return f"health baseline taken in preflight on {_hosts(watched)}" if watched else None


def testing(run, records):
    tested = _of(records, "update", "tested")
    if tested:
        return f"{len(tested)} updates tested on canary {_hosts(tested)} before the other waves"
    return None


def documentation(run, records):
    if run and run.get("user") and run.get("started"):
        by = f"run by {run['user']}" + (f" (AWX job {run['awx_job_id']})" if run.get("awx_job_id") else "")
        return f"{by}, started {run['started']}, recorded in the history store"
    return None


def deployment(run, records):
    installed = _of(records, "update", "installed")
    return f"{len(installed)} updates installed on {_hosts(installed)}" if installed else None


def deployment_audit(run, records):
    verified = _of(records, "update", "verified")
    return f"{len(verified)} updates verified after install on {_hosts(verified)}" if verified else None


def disaster_recovery(run, records):
    snapped = [r for r in _of(records, "host") if _data(r).get("snapshot")]
    rolled = _of(records, "host", "rolled_back")
    if snapped:
        back = f"; {_hosts(rolled)} rolled back" if rolled else ""
        return f"snapshot before patching on {_hosts(snapped)}{back}"
    return None


def reports(run, records):
    finished = [r for r in _of(records, "run") if r.get("state") not in (None, "running")]
    hosts = _of(records, "host")
    if finished and hosts:
        return f"run ended {finished[-1].get('state')}, results of {_hosts(hosts)} in the store (this report)"
    return None


def backup_verified(run, records):
    snapped = [r for r in _of(records, "host") if _data(r).get("snapshot") and "snapshotted" in _phases(r)]
    return f"snapshot taken and recorded on {_hosts(snapped)}" if snapped else None


def monitoring_before_after(run, records):
    both = [r for r in _of(records, "host") if "preflight" in _phases(r) and "verified" in _phases(r)]
    return f"health checked before (preflight) and after (verify) on {_hosts(both)}" if both else None


def compatibility_verified(run, records):
    tested = _of(records, "update", "tested")
    canaries = [r for r in _of(records, "host") if _data(r).get("canary") and r.get("state") == "done"]
    if tested and canaries:
        return f"canary {_hosts(canaries)} patched and verified before the rest"
    return None


def one_change_at_a_time(run, records):
    hosts = _of(records, "host")
    waves = sorted({_data(r).get("wave") for r in hosts if isinstance(_data(r).get("wave"), int)})
    if len(waves) > 1:
        return f"{len(waves)} waves ({', '.join(str(w) for w in waves)}), each gated on the one before"
    return None


def documentation_updated(run, records):
    if run and run.get("change_ticket"):
        return f"change ticket {run['change_ticket']}"
    return None


#: The checklist: (id, step, the feature that does it, the rule that finds the evidence).
CHECKLIST = (
    ("inventory", "Inventory", "inventory plugin patchpilot.fleet.assets and playbooks/scan.yml", inventory),
    ("priorities", "Priorities", "prioritisation: severity, score and SLA due date (policy prioritisation)", priorities),
    ("policy", "Policy", "the policy file, checked and digested into the plan (playbooks/plan.yml)", policy),
    ("monitoring", "Monitoring", "health baseline in preflight (roles/preflight, health_snapshot)", monitoring),
    ("testing", "Testing", "canary wave (plan waves, roles/verify on the canary first)", testing),
    ("documentation", "Documentation", "run record and history store (who, when, what)", documentation),
    ("deployment", "Deployment", "playbooks/patch.yml: stage, patch, restart or reboot", deployment),
    ("deployment_audit", "Audit of the deployment", "roles/verify: installed versions and health against the plan",
     deployment_audit),
    ("disaster_recovery", "Disaster recovery", "roles/snapshot and roles/rollback", disaster_recovery),
    ("reports", "Reports", "playbooks/report.yml (this report)", reports),
    ("backup_verified", "Backup verified", "preflight backup check and roles/snapshot", backup_verified),
    ("monitoring_before_after", "Monitoring before and after", "health baseline in preflight, compared in verify",
     monitoring_before_after),
    ("compatibility_verified", "Compatibility verified", "canary host patched and verified first",
     compatibility_verified),
    ("one_change_at_a_time", "One change at a time", "waves with gates (patch_wave.yml)", one_change_at_a_time),
    ("documentation_updated", "Documentation updated", "change ticket on the run (policy approval)",
     documentation_updated),
)

RULES = {step_id: rule for step_id, _step, _feature, rule in CHECKLIST}


def evaluate(model: dict, run_records: list) -> list:
    """Each checklist step with this run's evidence (``done`` False and ``evidence`` None when not done)."""
    run = next((r for r in model.get("runs") or [] if r["run_id"] == model.get("run_id")), None)
    found = []
    for step_id, step, feature, rule in CHECKLIST:
        evidence = rule(run, run_records) if run else None
        found.append({"id": step_id, "step": step, "feature": feature, "done": evidence is not None,
                      "evidence": evidence})
    return found
