# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side code shared by the run actions of playbooks/patch.yml.

run_open, run_start, run_host_record, run_host_final, run_wave_gate,
run_wave_end and run_finish each do one job on the run record
(module_utils/runrecord.py); what they share lives here: the error funnel,
what the playbook reads of a run (:func:`describe`), the read-back of a
host's installed packages and its comparison with the plan.
"""

from __future__ import annotations

from datetime import datetime

from ansible_collections.patchpilot.fleet.plugins.module_utils import plan_versions, rollback_check, rollout, runrecord
from ansible_collections.patchpilot.fleet.plugins.plugin_utils.scan_results import checked_args, now_arg, plain

#: The options every run action takes.
COMMON_SPEC = {
    "base_dir": {"type": "path", "required": True},
    "run_id": {"type": "str"},
    "now": {"type": "str"},
}
#: Package states of a read-back record that count as installed (dpkg's ``ii`` and ``hi``).
INSTALLED_STATES = ("installed", "ii", "hi", "hold", "held")


def run_action(plugin, spec: dict, task_vars: dict, act) -> dict:
    """Check the task's arguments against ``spec``, call ``act(args, now, task_vars)`` and turn a
    run record problem into one clear AnsibleActionFail."""
    from ansible.errors import AnsibleActionFail  # pylint: disable=import-outside-toplevel

    args = checked_args(spec, plugin._task.args)
    now = now_arg(args.get("now"))
    try:
        return act(args, now, task_vars or {})
    except runrecord.RunRecordError as exc:
        raise AnsibleActionFail(f"run record: {exc}") from exc
    except OSError as exc:
        raise AnsibleActionFail(f"run record: {args['base_dir']}: {exc}") from exc


def need(args: dict, what: str, *names: str) -> None:
    """AnsibleActionFail when one of ``names`` is not given."""
    from ansible.errors import AnsibleActionFail  # pylint: disable=import-outside-toplevel

    missing = [name for name in names if args.get(name) in (None, "")]
    if missing:
        raise AnsibleActionFail(f"{what} needs {', '.join(missing)}")


def load(args: dict) -> runrecord.RunDir:
    need(args, "this action", "run_id")
    return runrecord.RunDir.load(args["base_dir"], args["run_id"])


def describe(run_dir: runrecord.RunDir) -> dict:
    """What the playbook needs of a run: its plan, the hosts still to do per wave, the budget."""
    plan = run_dir.plan
    records = {host: run_dir.host(host) for host in run_dir.hosts()}
    pending = [host for host, record in records.items() if record["phase"] not in runrecord.FINISHED_PHASES]
    waves = rollout.wave_hosts(plan)
    return {
        "run_id": run_dir.run_id, "run_dir": run_dir.path, "run": run_dir.run, "plan": plan,
        "phases": {host: record["phase"] for host, record in records.items()},
        "pending": pending,
        "pending_waves": {str(w): [h for h in hosts if h in pending] for w, hosts in waves.items()},
        "canary": rollout.canary_hosts(plan),
        "budget": rollout.budget_status(plan, records),
        "counts": rollout.host_counts(records),
        # a rollback's two facts, apart: versions restored, host healthy
        "rollbacks": rollback_check.rollback_outcomes(records),
        # built and checked by the run record, never by a template from a host name
        "archive_dirs": {host: run_dir.archive_dir(host) for host in records},
    }


def status(run_dir: runrecord.RunDir, now: datetime, halt_on_budget: bool = True) -> dict:
    """:func:`describe`, after halting the run when the canary failed or the budget is spent."""
    info = describe(run_dir)
    budget = info["budget"]
    if budget["halt"] and halt_on_budget and not info["run"].get("halted"):
        run_dir.halt(budget["reason"], at=now)
        info = describe(run_dir)
    return {"halted": info["run"].get("halted"), **info}


def mark_unreachable(run_dir: runrecord.RunDir, hosts: list, active: list, where: str, now: datetime) -> list:
    """Note every host of ``hosts`` not in ``active`` (and not noted already) as unreachable; those noted."""
    active = set(active)
    return [host for host in hosts if host not in active and not rollout.went_unreachable(run_dir.host(host))
            and run_dir.mark_unreachable(host, f"unreachable {where}", at=now)]


def observe(entry: dict, read_back) -> dict:
    """A host's read-back (the installed_packages module's records) against its plan entry
    (plan_versions.observe, the one verdict)."""
    from ansible.errors import AnsibleActionFail  # pylint: disable=import-outside-toplevel

    read_back = plain(read_back)
    if not isinstance(read_back, list):
        raise AnsibleActionFail(f"installed: expected a list of package records (the installed_packages module's"
                                f" packages), got {type(read_back).__name__}")
    # a record without the module's present/clean flags (written by hand) counts by its status
    read_back = [dict(r, present=str(r.get("status", "installed")).strip().lower() in INSTALLED_STATES)
                 if isinstance(r, dict) and "present" not in r else r for r in read_back]
    try:
        return plan_versions.observe(entry, read_back)
    except ValueError as exc:
        raise AnsibleActionFail(f"observe: {exc}") from exc
