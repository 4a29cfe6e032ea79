# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin: the run record on the controller (plugins/module_utils/runrecord.py) for playbooks/patch.yml."""

from __future__ import annotations

from datetime import datetime

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.patchpilot.fleet.plugins.module_utils import plan_versions, planner, rollback_check, rollout, runrecord
from ansible_collections.patchpilot.fleet.plugins.plugin_utils.scan_results import checked_args, now_arg

ACTIONS = ("new_id", "find", "start", "load", "record", "observe", "wave_end", "status", "gate", "finish")
ARGUMENT_SPEC = {
    "action": {"type": "str", "required": True, "choices": list(ACTIONS)},
    "base_dir": {"type": "path", "required": True},
    "scope": {"type": "str"},
    "run_id": {"type": "str"},
    "plan_file": {"type": "path"},
    "host": {"type": "str"},
    "phase": {"type": "str", "choices": list(runrecord.PHASES)},
    "detail": {"type": "raw"},
    "wave": {"type": "int"},
    "active_hosts": {"type": "list", "elements": "str", "default": []},
    "halt_on_budget": {"type": "bool", "default": True},
    "max_wait": {"type": "int", "default": 3600},
    "now": {"type": "str"},
    "dpkg_query": {"type": "str"},
    "packages": {"type": "list", "elements": "dict"},
}


def parse_dpkg_query(text: str) -> dict:
    """{package: version} of installed packages from ``dpkg-query -W -f '${Package}\\t${Version}\\t${db:Status-Abbrev}\\n'``."""
    found = {}
    for line in (text or "").splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0] and parts[1] and (len(parts) < 3 or parts[2].strip() in ("ii", "hi")):
            found[parts[0].split(":")[0]] = parts[1]
    return found


def compare(entry: dict, installed: dict) -> dict:
    """A host's installed versions ({name: version}) against its plan entry (plan_versions.observe)."""
    records = [{"name": name, "version": version, "present": True, "clean": True} for name, version in installed.items()]
    return plan_versions.observe(entry, records)


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


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = checked_args(ARGUMENT_SPEC, self._task.args)
        now = now_arg(args["now"])
        try:
            result.update(self._act(args, now, task_vars))
        except runrecord.RunRecordError as exc:
            raise AnsibleActionFail(f"run record: {exc}") from exc
        except OSError as exc:
            raise AnsibleActionFail(f"run record: {args['base_dir']}: {exc}") from exc
        return result

    def _need(self, args: dict, *names: str) -> None:
        missing = [name for name in names if args.get(name) in (None, "")]
        if missing:
            raise AnsibleActionFail(f"action {args['action']} needs {', '.join(missing)}")

    def _act(self, args: dict, now: datetime, task_vars: dict) -> dict:
        action, base = args["action"], args["base_dir"]
        if action == "new_id":
            return {"changed": False, "run_id": planner.make_run_id(now)}
        if action == "find":
            self._need(args, "scope")
            found = runrecord.latest_unfinished(base, args["scope"])
            return {"changed": False, "found": found is not None, "run_id": found.run_id if found else None}
        if action == "start":
            self._need(args, "scope", "run_id", "plan_file")
            plan = runrecord.read_json(args["plan_file"], "plan")
            if not isinstance(plan, dict):
                raise AnsibleActionFail(f"{args['plan_file']}: not a plan")
            if plan.get("run_id") != args["run_id"]:
                # a plan reviewed earlier (patch.yml --check, plan.yml) keeps its versions; the run gets its own id
                plan = dict(plan, planned_as=plan.get("run_id"), run_id=args["run_id"])
            run_dir = runrecord.RunDir(base, args["run_id"])
            run_dir.start(plan, args["scope"], at=now)
            return {"changed": True, **describe(run_dir)}
        self._need(args, "run_id")
        run_dir = runrecord.RunDir.load(base, args["run_id"])
        if action == "load":
            return {"changed": False, **describe(run_dir)}
        if action == "record":
            host = args["host"] or task_vars.get("inventory_hostname")
            self._need(dict(args, host=host), "phase")
            record = run_dir.record(host, args["phase"], args["detail"], at=now)
            return {"changed": True, "host": host, "phase": record["phase"]}
        if action == "observe":
            host = args["host"] or task_vars.get("inventory_hostname")
            entry = next((e for e in run_dir.plan.get("hosts") or () if e.get("host") == host), None)
            if entry is None:
                raise AnsibleActionFail(f"{host} is not in the plan of run {run_dir.run_id}")
            # the installed_packages module's records, or (older playbooks) dpkg-query's output
            if args["packages"] is not None:
                try:
                    verdict = plan_versions.observe(entry, args["packages"])
                except ValueError as exc:
                    raise AnsibleActionFail(f"observe: {exc}") from exc
            else:
                verdict = compare(entry, parse_dpkg_query(args["dpkg_query"]))
            observed = {"format": 1, "host": host, "at": now.isoformat(), **verdict}
            run_dir.keep_final(host, observed)
            return {"changed": True, **observed}
        if action == "wave_end":
            # every host of the wave (all hosts of the run without a wave) not in active_hosts
            # and not finished went unreachable; a host marked already is not marked again
            waves = rollout.wave_hosts(run_dir.plan)
            hosts = waves.get(args["wave"], []) if args["wave"] is not None else [h for w in waves.values() for h in w]
            active = set(args["active_hosts"])
            where = f"during wave {args['wave']}" if args["wave"] is not None else "before this wave"
            marked = [host for host in hosts if host not in active and not rollout.went_unreachable(run_dir.host(host))
                      and run_dir.mark_unreachable(host, f"unreachable {where}", at=now)]
            return {"changed": bool(marked), "went_unreachable": marked, **self._status(run_dir, args, now)}
        if action == "status":
            return {"changed": False, **self._status(run_dir, args, now)}
        if action == "gate":
            self._need(args, "wave")
            return {"changed": False, **rollout.gate(run_dir.plan, args["wave"], now, args["max_wait"])}
        # finish: completed when every host is done, failed when any failed or the run halted,
        # left running (to be continued by a rerun) while hosts are still pending
        info = describe(run_dir)
        phases = info["phases"]
        halted = info["run"].get("halted")
        if info["pending"] and not halted:
            info["final"] = {}
            return {"changed": False, "state": "running", **info}
        state = "completed" if all(p == "done" for p in phases.values()) and not halted else "failed"
        run_dir.finish(state, at=now)
        info = describe(run_dir)
        info["final"] = {host: run_dir.final(host) for host in info["phases"]}
        run_dir.write_summary({"format": 1, "run_id": run_dir.run_id, "state": state, "phases": info["phases"],
                               "halted": info["run"].get("halted"), "final": info["final"],
                               "rollbacks": info["rollbacks"]})
        return {"changed": True, "state": state, **info}

    @staticmethod
    def _status(run_dir: runrecord.RunDir, args: dict, now: datetime) -> dict:
        info = describe(run_dir)
        budget = info["budget"]
        if budget["halt"] and args["halt_on_budget"] and not info["run"].get("halted"):
            run_dir.halt(budget["reason"], at=now)
            info = describe(run_dir)
        return {"halted": info["run"].get("halted"), **info}
