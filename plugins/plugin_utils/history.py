# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side code shared by the history_ingest action and the history callback.

What the controller knows of a run that the run directory does not (who ran it,
AWX's job, the project commit, the host and playbook), and the one warning a
failing store gives. The mapping itself is module_utils/history_feed.py.
"""

from __future__ import annotations

import os
import socket
import subprocess

from ansible.errors import AnsibleActionFail

from ansible_collections.patchpilot.fleet.plugins.module_utils import history_feed, lockbreak

#: AWX sets these extra vars on a job (the tower_* names on older versions).
AWX_VARS = {
    "awx_job_id": ("awx_job_id", "tower_job_id"),
    "awx_user": ("awx_user_name", "tower_user_name"),
    "awx_project_revision": ("awx_project_revision", "tower_project_revision"),
    "awx_inventory": ("awx_inventory_name", "tower_inventory_name"),
}
#: The variables the context is read from (only these: the others are not read at all).
CONTEXT_VARS = tuple(name for names in AWX_VARS.values() for name in names) + (
    "ansible_inventory_sources", "playbook_dir", "patchpilot_policy")
#: The words every warning of a failing store starts with (people and tests look for them).
UNAVAILABLE = "HISTORY STORE UNAVAILABLE"


def _first(variables: dict, names) -> str | None:
    for name in names:
        value = variables.get(name)
        if value not in (None, ""):
            return str(value)
    return None


def project_commit(folder: str | None) -> str | None:
    """``git rev-parse HEAD`` in ``folder`` when it is in a git checkout, else None (never raises)."""
    if not folder or not os.path.isdir(folder):
        return None
    try:
        proc = subprocess.run(["git", "-C", folder, "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = proc.stdout.strip()
    return commit if proc.returncode == 0 and len(commit) in (40, 64) else None


def context(variables: dict, playbook: str | None = None) -> dict:
    """The run's context from the controller: user, AWX job, inventory, playbook, controller, commit."""
    variables = variables or {}
    found = {key: _first(variables, names) for key, names in AWX_VARS.items()}
    found["user"] = lockbreak.owner_user(variables, lockbreak.login_user())["user"]
    sources = variables.get("ansible_inventory_sources")
    if isinstance(sources, (list, tuple)):
        found["inventory"] = [str(s) for s in sources]
    else:
        found["inventory"] = [str(sources)] if sources else []
    if found["awx_inventory"]:
        found["inventory"].append(f"awx:{found['awx_inventory']}")
    found["playbook"] = playbook
    policy = variables.get("patchpilot_policy")
    found["policy_file"] = policy if isinstance(policy, str) and policy else None  # a path; inline: in the plan
    found["controller"] = socket.gethostname()
    folder = os.path.dirname(playbook) if playbook else variables.get("playbook_dir")
    found["project_commit"] = project_commit(str(folder) if folder else None) or found["awx_project_revision"]
    return found


def assets(hostvars, hosts) -> tuple:
    """({host: asset facts}, {host: CMDB fields}) of what scan.yml and the inventory plugin left in
    ``hostvars`` (``scan_asset``, ``patchpilot_asset``)."""
    from ansible_collections.patchpilot.fleet.plugins.plugin_utils.scan_results import plain  # noqa: PLC0415

    facts, cmdb = {}, {}
    for host in hosts or ():
        try:
            if host not in hostvars:  # hostvars[host] of a host the inventory lacks is an error
                continue
            variables = hostvars[host]
            scanned = plain(variables.get("scan_asset"))
            fields = plain(variables.get("patchpilot_asset"))
        except Exception:  # pylint: disable=broad-except  # the facts are a bonus: a host without them has no asset
            continue
        if isinstance(scanned, dict) and isinstance(scanned.get("asset"), dict):
            facts[host] = scanned["asset"]
        if isinstance(fields, dict):
            cmdb[host] = fields
    return facts, cmdb


def warning(result: dict) -> str | None:
    """The one loud warning of a feed that could not reach its store, None when it did."""
    if result.get("ok"):
        return None
    return (f"{UNAVAILABLE}: {result.get('error')}; {result.get('buffered')} record(s) kept in"
            f" {result.get('buffer')}, fed to the store by the next run that reaches it")


def store_name(spec, state_dir: str) -> str:
    """What the report may say of the store: the SQLite file's path; a URL is never shown."""
    if not spec:
        return os.path.join(state_dir, "history.sqlite")
    return "(the store URL of patchpilot_history_store)" if "://" in str(spec) else str(spec)


def feed_run(run_dir: str, spec, state_dir: str, ctx: dict) -> dict:
    """Feed one run directory: history_feed.feed's answer, with ``records`` (how many the run has)."""
    records = history_feed.run_records(history_feed.read_run(run_dir), ctx)
    result = history_feed.feed(spec, state_dir, records)
    result["records"] = len(records)
    return result


#: The variable naming the store (a path or a URL with a password: a secret, never echoed).
STORE_VAR = "patchpilot_history_store"


def store_spec(templar, task_vars: dict) -> str:
    """The store the variable names, templated ('' for the default); never in a message."""
    value = task_vars.get(STORE_VAR)
    if value in (None, ""):
        return ""
    try:
        value = templar.template(value)
    except Exception:  # pylint: disable=broad-except  # the message could hold the secret: say nothing of it
        raise AnsibleActionFail(f"{STORE_VAR}: cannot be read (its value is not shown)") from None
    if not isinstance(value, str):
        raise AnsibleActionFail(f"{STORE_VAR}: expected a path or a postgresql:// URL, got {type(value).__name__}")
    return str(value)
