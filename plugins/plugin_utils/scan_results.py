# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side helpers shared by the actions that read every host's scan results."""

from __future__ import annotations

from ansible_collections.patchpilot.fleet.plugins.module_utils.records import stale_index_failure
from ansible_collections.patchpilot.fleet.plugins.module_utils.update_security import merge


def plain(value):
    """Registered results and inventory data as plain Python (no lazy or unsafe wrappers)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def collect(hostvars, hosts, asset_var="scan_asset", updates_var="scan_updates", error_var="scan_error",
            security_var="scan_security") -> dict:
    """{host: {"asset", "updates", "index", "error"}} from what scan.yml registered on each host.

    ``updates`` (and ``index``, the package index record) is None for a host
    whose scan failed (``error`` says why) or that was never reached (no
    registered result at all). An apt update gains what its Debian changelog
    says (``security_var``: {package: info} of the changelogs action;
    update_security.merge).
    """
    results = {}
    for host in hosts:
        hv = hostvars[host]
        asset = hv.get(asset_var) or {}
        updates = hv.get(updates_var) or {}
        error = hv.get(error_var)
        has_updates = isinstance(updates, dict) and "updates" in updates and not error
        security = plain(hv.get(security_var) or {}) if security_var else {}
        security = security if isinstance(security, dict) else {}
        records = [merge(record, security.get(record.get("name"))) if isinstance(record, dict) else record
                   for record in plain(updates["updates"] or [])] if has_updates else None
        results[host] = {
            "asset": plain(asset.get("asset")) if isinstance(asset, dict) and asset.get("asset") else None,
            "updates": records,
            "index": plain(updates.get("index")) if has_updates and isinstance(updates.get("index"), dict) else None,
            "error": str(error) if error else None,
        }
    return results


def plan_scan(results: dict, stale_index: str = "report") -> dict:
    """{host: {"asset", "updates", "reason"}} for planner.build_plan from :func:`collect`'s results.

    A host whose package index is stale is planned from the index it has,
    unless the policy's ``scan.stale_index`` is ``fail``: then it has no
    updates and the reason (records.stale_index_failure) says why.
    """
    scan = {}
    for host, result in results.items():
        reason = result["error"] or (None if result["updates"] is not None else "not scanned (unreachable)")
        failure = None if reason else stale_index_failure(result.get("index"), stale_index)
        scan[host] = {"asset": result["asset"], "updates": None if failure else result["updates"],
                      "reason": reason or failure}
    return scan


#: The options naming the variables scan.yml registers, shared by the actions that read them.
SCAN_VARS_SPEC = {
    "asset_var": {"type": "str", "default": "scan_asset"},
    "updates_var": {"type": "str", "default": "scan_updates"},
    "error_var": {"type": "str", "default": "scan_error"},
    "security_var": {"type": "str", "default": "scan_security"},
}


def checked_args(spec: dict, task_args: dict) -> dict:
    """The task's arguments checked against ``spec`` (defaults filled), or AnsibleActionFail naming every problem."""
    from ansible.errors import AnsibleActionFail  # pylint: disable=import-outside-toplevel
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator  # pylint: disable=import-outside-toplevel

    validated = ArgumentSpecValidator(spec).validate(task_args)
    if validated.error_messages:
        raise AnsibleActionFail("; ".join(validated.error_messages))
    return validated.validated_parameters


def now_arg(text):
    """The action's ``now`` option as an aware datetime (UTC when it names no offset), or now; AnsibleActionFail if unreadable."""
    from datetime import datetime, timezone  # pylint: disable=import-outside-toplevel

    from ansible.errors import AnsibleActionFail  # pylint: disable=import-outside-toplevel

    try:
        now = datetime.fromisoformat(text) if text else datetime.now(timezone.utc)
    except ValueError as exc:
        raise AnsibleActionFail(f"now: {exc}") from exc
    return now if now.tzinfo is not None else now.replace(tzinfo=timezone.utc)


#: The options of the actions that read a Debian Security Tracker export.
TRACKER_SPEC = {
    "security_tracker": {"type": "str"},
    "tracker_cache": {"type": "path"},
    "tracker_max_age_hours": {"type": "float", "default": 24},
}


def read_tracker(args: dict, now):
    """``(tracker, info)`` from the action's TRACKER_SPEC options, ``(None, None)`` without a tracker;
    AnsibleActionFail when none can be had (tracker_source.obtain)."""
    from ansible.errors import AnsibleActionFail  # pylint: disable=import-outside-toplevel
    from ansible.module_utils.urls import open_url  # pylint: disable=import-outside-toplevel

    from ansible_collections.patchpilot.fleet.plugins.module_utils import (  # pylint: disable=import-outside-toplevel
        security_tracker,
        tracker_source,
    )

    if not args.get("security_tracker"):
        return None, None

    def fetch(url):
        with open_url(url, timeout=30, follow_redirects="safe") as response:
            return response.read()

    try:
        return tracker_source.obtain(args["security_tracker"], args.get("tracker_cache"), fetch, now,
                                     args.get("tracker_max_age_hours") or 24)
    except security_tracker.TrackerError as exc:
        raise AnsibleActionFail(str(exc)) from exc
