"""The plan drives the run, on the lab: more than twelve waves, and a reviewed plan checked
against the policy (its digest) and its age before any host changes.

The run's policy pauses the automatic updaters (``automatic_updaters: pause``): web01 is
made to look like a host with unattended-upgrades on (as in test_updaters.py), so each of its
names pauses them before its snapshot and puts them back after; the units end as they were.

One module-scoped run, kept cheap: thirteen inventory names spread over the lab's three
Debian containers (same ssh port, different names), one host per wave, no reboot, no
restart, no snapshot. Names of one container must never run at once (apt's locks, one
host cache): the runs use one fork, and the scan reads the index refreshed beforehand. Before it, each refused run stops on the controller before any host is contacted:
a reviewed plan under a changed policy (both digests named) and a reviewed plan older than
the policy's ``plan.max_age_hours``. The rollout itself is that reviewed plan run under the
changed policy with ``patchpilot_replan=true``: a fresh plan replaces it.
"""

from __future__ import annotations

import json
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from labkit import ROOT, VENV_BIN
from test_rollout import DEBIAN, dpkg
from test_updaters import units

pytestmark = pytest.mark.lab

ALIASES = [f"pp{n:02d}" for n in range(13)]  # pp00 on web01, pp01 on db01, pp02 on app01, pp03 on web01 ...
WAVES = len(ALIASES)


def policy(change_ticket: str) -> dict:
    """Every lab update approved, a canary and twelve waves of one host, no reboot, no restart."""
    return {
        "version": 2,
        "change_ticket": change_ticket,
        "approvals": {
            "auto": {"classifications": ["security", "bugfix"], "severities": ["critical", "high", "medium", "low"]},
            "reject": [{"package": "pplab-legacy", "reason": "major upgrade needs sign-off", "expires": "2099-12-31"}],
            "allow_removals": True,
        },
        "rollout": {"canary": {"hosts": [ALIASES[0]]}, "soak_minutes": 0, "waves": [1] * (WAVES - 2) + ["rest"],
                    "minutes_per_host": 1},
        "budget": {"max_failed": 0},
        "reboot": "never",
        "restart_services": False,
        "snapshot": {"default": "none"},
        "health_checks": {"failed_units": False, "journal_errors_max": None},
        "automatic_updaters": "pause",
    }


def alias_inventory(lab, path: Path) -> str:
    """The lab's Debian containers under thirteen names, with the lab inventory's connection settings."""
    lab_inventory = yaml.safe_load((Path(lab.inventory).parent / "hosts.yml").read_text(encoding="utf-8"))
    assets = yaml.safe_load(Path(lab.inventory).read_text(encoding="utf-8"))
    hosts = lab_inventory["all"]["children"]["lab"]["hosts"]
    shared = {**lab_inventory["all"]["vars"], **assets.get("host_vars", {}),
              "patchpilot_update_cache": False, "patchpilot_backup_required": False}
    inventory = {"all": {"vars": shared,
                         "hosts": {alias: dict(hosts[DEBIAN[n % len(DEBIAN)]]) for n, alias in enumerate(ALIASES)}}}
    path.write_text(yaml.safe_dump(inventory, sort_keys=False), encoding="utf-8")
    return str(path)


class Runs:
    """The playbooks run as under ``env -i`` (a timer, systemd): no HOME, no PWD, only PATH and the
    checkout's ansible.cfg, from an empty folder; the state and report directories are named (the
    suite runs as root: not /var/lib/patchpilot). Nothing may be written anywhere else."""

    def __init__(self, lab, folder: Path):
        self.folder = folder
        self.inventory = alias_inventory(lab, folder / "aliases.yml")
        self.cwd, self.state, self.reports = folder / "cwd", folder / "state", folder / "reports"
        self.cwd.mkdir()
        self.runs, self.plans = self.state / "runs", self.state / "plans"
        self.env = {"PATH": f"{VENV_BIN}:/usr/bin:/bin", "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
                    "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"}

    def playbook(self, name: str, rules: dict, *extra: str) -> subprocess.CompletedProcess:
        path = self.folder / f"policy-{rules['change_ticket']}.yml"
        path.write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")
        argv = ["env", "-i", *(f"{key}={value}" for key, value in self.env.items()),
                str(VENV_BIN / "ansible-playbook"), "-i", self.inventory, str(ROOT / "playbooks" / name),
                "-e", f"patchpilot_policy={path}", "-e", f"patchpilot_state_dir={self.state}",
                "-e", f"patchpilot_report_dir={self.reports}", "--forks", "1", *extra]
        return subprocess.run(argv, cwd=self.cwd, env={}, capture_output=True, text=True, timeout=2400, check=False)


def explain(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n{proc.stdout[-8000:]}\n{proc.stderr[-3000:]}"


@pytest.fixture(scope="module")
def planned_run(lab, tmp_path_factory):
    lab.reset(*DEBIAN)
    for name in DEBIAN:
        lab.ssh(lab.host(name), "sudo apt-get update -qq")
    # web01 looks like a host with unattended-upgrades installed and on (all the check reads)
    lab.ssh(lab.host("web01"), "printf '[Service]\\nType=oneshot\\nExecStart=/bin/true\\n' "
                               "| sudo tee /etc/systemd/system/unattended-upgrades.service && "
                               "printf 'APT::Periodic::Unattended-Upgrade \"1\";\\n' "
                               "| sudo tee /etc/apt/apt.conf.d/20auto-upgrades && sudo systemctl daemon-reload")
    updaters_before = units(lab, lab.host("web01"))
    runs = Runs(lab, tmp_path_factory.mktemp("plan-drives-run"))
    checkout_reports, root_reports = (ROOT / "reports").exists(), Path("/reports").exists()
    reviewed_policy, run_policy = policy("CHG-REVIEWED"), policy("CHG-CHANGED")
    started = time.monotonic()
    made = runs.playbook("plan.yml", reviewed_policy)
    assert made.returncode == 0, explain(made)
    reviewed = runs.plans / "latest.json"
    reviewed_plan = json.loads(reviewed.read_text(encoding="utf-8"))
    before = {name: dpkg(lab, name) for name in DEBIAN}
    changed = runs.playbook("patch.yml", run_policy, "-e", f"patchpilot_plan_file={reviewed}")
    stale = runs.folder / "stale.json"
    stale.write_text(json.dumps(dict(reviewed_plan, created=(datetime.now(timezone.utc) - timedelta(hours=73))
                                     .isoformat())), encoding="utf-8")
    too_old = runs.playbook("patch.yml", reviewed_policy, "-e", f"patchpilot_plan_file={stale}")
    refused_at = {name: dpkg(lab, name) for name in DEBIAN}
    rollout = runs.playbook("patch.yml", run_policy, "-e", f"patchpilot_plan_file={reviewed}",
                            "-e", "patchpilot_replan=true")
    updaters_after = units(lab, lab.host("web01"))
    yield {"updaters_before": updaters_before, "updaters_after": updaters_after, "runs": runs, "reviewed": reviewed_plan, "changed": changed, "too_old": too_old, "rollout": rollout,
           "before": before, "refused_at": refused_at, "seconds": time.monotonic() - started,
           "reports_before": (checkout_reports, root_reports),
           "reports_after": ((ROOT / "reports").exists(), Path("/reports").exists())}
    lab.reset(*DEBIAN)


def test_a_reviewed_plan_under_a_changed_policy_is_refused_with_both_digests(planned_run):
    proc = planned_run["changed"]
    assert proc.returncode != 0, explain(proc)
    reviewed_digest = planned_run["reviewed"]["policy_digest"]
    run_plan = json.loads(next(planned_run["runs"].runs.glob("*/plan.json")).read_text(encoding="utf-8"))
    assert reviewed_digest != run_plan["policy_digest"]
    message = " ".join(proc.stdout.split())
    assert f"was planned with policy {reviewed_digest}, the policy now is {run_plan['policy_digest']}" in message, \
        explain(proc)
    assert "patchpilot_replan=true" in message
    assert planned_run["refused_at"] == planned_run["before"]  # refused before any host changed


def test_a_reviewed_plan_older_than_max_age_is_refused(planned_run):
    proc = planned_run["too_old"]
    assert proc.returncode != 0, explain(proc)
    message = " ".join(proc.stdout.split())
    assert "was made 73 hours ago" in message and "plan.max_age_hours (72)" in message, explain(proc)


def test_with_replan_a_fresh_plan_of_thirteen_waves_runs_one_host_per_wave(lab, planned_run):
    proc = planned_run["rollout"]
    assert proc.returncode == 0, explain(proc)
    assert "a fresh plan replaces it" in " ".join(proc.stdout.split())
    run_dirs = [p for p in planned_run["runs"].runs.iterdir() if (p / "run.json").is_file()]
    assert len(run_dirs) == 1, run_dirs  # the refused runs left no run behind
    plan = json.loads((run_dirs[0] / "plan.json").read_text(encoding="utf-8"))
    summary = json.loads((run_dirs[0] / "summary.json").read_text(encoding="utf-8"))
    assert plan["change_ticket"] == "CHG-CHANGED" and plan["policy_digest"] != planned_run["reviewed"]["policy_digest"]
    assert [(w["wave"], len(w["hosts"])) for w in plan["waves"]] == [(n, 1) for n in range(WAVES)]
    assert summary["state"] == "completed" and summary["phases"] == dict.fromkeys(ALIASES, "done"), summary
    for wave in plan["waves"]:  # every wave ran, in order, its host done
        assert f"wave {wave['wave']}: {wave['hosts'][0]} done" in proc.stdout, wave
    entries = {e["host"]: e for e in plan["hosts"]}
    for alias in ALIASES:
        entry = entries[alias]
        assert entry["package_manager"] == "apt" and entry["settings"]["restart_services"] == "none"
        history = json.loads((run_dirs[0] / "hosts" / f"{alias}.json").read_text(encoding="utf-8"))["history"]
        assert history[-1]["detail"]["restart"] is None  # restart_services false: neither restarted nor flagged
    after = {name: dpkg(lab, name) for name in DEBIAN}
    for n, name in enumerate(DEBIAN):
        for package in entries[ALIASES[n]]["packages"]:
            assert after[name].get(package["name"]) == package["version"], (name, package)
    print(f"plan drives the run: {planned_run['seconds']:.0f} s for the module's runs")


def test_the_automatic_updaters_are_paused_for_each_host_and_put_back(planned_run):
    assert planned_run["rollout"].returncode == 0, explain(planned_run["rollout"])
    before, after = planned_run["updaters_before"], planned_run["updaters_after"]
    assert before["apt-daily-upgrade.timer"] == ("enabled", "active") and after == before, (before, after)
    run_dir = next(p for p in planned_run["runs"].runs.iterdir() if (p / "run.json").is_file())
    for n, alias in enumerate(ALIASES):
        detail = json.loads((run_dir / "hosts" / f"{alias}.json").read_text(encoding="utf-8"))["history"][-1]["detail"]
        state_file = run_dir / "archive" / alias / "updaters.json"
        if DEBIAN[n % len(DEBIAN)] != "web01":
            continue
        state = json.loads(state_file.read_text(encoding="utf-8"))
        assert state["resumed"] is True and [u["unit"] for u in state["paused"]] == \
            ["apt-daily-upgrade.timer", "apt-daily-upgrade.service"], (alias, state)
        assert detail["updaters"]["action"] == "resume" and detail["updaters"]["restored"] is True, (alias, detail)
        assert detail["updaters_unrestored"] is None, (alias, detail)


def test_under_env_i_nothing_is_written_outside_the_state_and_report_dirs(planned_run):
    """The module's runs (plan.yml, three patch.yml) ran under env -i from an empty folder."""
    runs = planned_run["runs"]
    assert planned_run["rollout"].returncode == 0, explain(planned_run["rollout"])
    assert list(runs.cwd.iterdir()) == []  # the current directory stays empty
    assert planned_run["reports_after"] == planned_run["reports_before"]  # no /reports, no reports/ in the checkout
    written = {p.name for p in runs.folder.iterdir()} - {"aliases.yml", "stale.json", "cwd"}
    assert written == {"state", "reports", "policy-CHG-REVIEWED.yml", "policy-CHG-CHANGED.yml"}, written
    # the runs, the plans, the history store (first-seen dates) and the changelog cache: the state directory's
    assert {p.name for p in runs.state.iterdir()} == {"runs", "plans", "history.sqlite", "changelogs"}
    assert oct(runs.state.stat().st_mode & 0o777) == "0o700" and oct(runs.reports.stat().st_mode & 0o777) == "0o700"
    run_dir = next(p for p in runs.runs.iterdir() if (p / "run.json").is_file())
    assert (run_dir / "summary.json").is_file() and (runs.plans / "latest.json").is_file()
    assert {p.name for p in runs.reports.iterdir()} == {"scan"}
    assert (runs.reports / "scan" / "updates.json").is_file() and (runs.reports / "scan" / "assets.json").is_file()


def test_each_container_carries_the_run_as_a_local_fact_of_its_last_name(lab, planned_run):
    """facts.d after a completed run: result done; the refused runs (before any host) left none.
    With one fork the names of a container write its fact in inventory order: the last one stays."""
    assert planned_run["rollout"].returncode == 0, explain(planned_run["rollout"])
    run_dir = next(p for p in planned_run["runs"].runs.iterdir() if (p / "run.json").is_file())
    for n, name in enumerate(DEBIAN):
        last = [alias for k, alias in enumerate(ALIASES) if k % len(DEBIAN) == n][-1]
        fact = json.loads(lab.ssh(lab.host(name), "cat /etc/ansible/facts.d/patchpilot.fact").stdout)
        record = json.loads((run_dir / "hosts" / f"{last}.json").read_text(encoding="utf-8"))
        assert (fact["run_id"], fact["host"], fact["result"]) == (run_dir.name, last, "done"), fact
        assert fact["at"] == next(h["at"] for h in record["history"] if h["phase"] == "done")
        assert fact["machine_id"] == lab.ssh(lab.host(name), "cat /etc/machine-id").stdout.strip()
