# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin: the controller's changelog cache between the hosts' deb_changelogs calls (module_utils/update_security.py)."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.patchpilot.fleet.plugins.module_utils import changelog_cache, update_security
from ansible_collections.patchpilot.fleet.plugins.plugin_utils.policy_file import read_checked_policy
from ansible_collections.patchpilot.fleet.plugins.plugin_utils.scan_results import checked_args, plain

ARGUMENT_SPEC = {
    "state": {"type": "str", "choices": ["planned", "stored"], "required": True},
    "cache_dir": {"type": "path", "required": True},
    "hosts": {"type": "list", "elements": "str"},
    "resolved_var": {"type": "str", "default": "scan_sources"},
    "extracted_var": {"type": "str", "default": "scan_changelogs"},
    "updates_var": {"type": "str", "default": "scan_updates"},
    "severities": {"type": "dict"},
    "policy": {"type": "str"},
}


def _resolved(hostvars, hosts, var) -> dict:
    found = {}
    for host in hosts:
        result = plain(hostvars[host].get(var) or {})
        if isinstance(result, dict) and isinstance(result.get("packages"), list) and not result.get("failed"):
            found[host] = result["packages"]
    return found


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = checked_args(ARGUMENT_SPEC, self._task.args)
        hostvars = task_vars["hostvars"]
        hosts = args["hosts"] or task_vars.get("ansible_play_hosts_all") or []
        severities = args["severities"]
        if severities is None and args["policy"]:  # the policy's scan.urgency_severity
            severities = read_checked_policy(args["policy"], None)["scan"]["urgency_severity"]
        try:
            cache = changelog_cache.ChangelogCache(args["cache_dir"])
            resolved = _resolved(hostvars, hosts, args["resolved_var"])
            if args["state"] == "planned":
                plan, stats = update_security.fetch_plan(resolved, lambda s, v: cache.get(s, v) is not None)
                return dict(result, changed=False, read=plan, stats=stats)
            stored = 0
            for host in hosts:
                extracted = plain(hostvars[host].get(args["extracted_var"]) or {})
                for item in extracted.get("changelogs") or () if isinstance(extracted, dict) else ():
                    if not isinstance(item, dict) or not item.get("source") or not item.get("source_version"):
                        continue
                    cache.put(item["source"], item["source_version"], item.get("entries") or [],
                              item.get("origin") or "unknown", missing=item.get("missing"))
                    stored += 1
            security = {}
            for host, items in resolved.items():
                updates = plain(hostvars[host].get(args["updates_var"]) or {})
                records = updates.get("updates") if isinstance(updates, dict) else None
                security[host] = update_security.host_security(records or [], items, cache.get, severities)
        except (changelog_cache.CacheError, OSError, KeyError, TypeError) as exc:
            raise AnsibleActionFail(f"changelogs: {exc}") from exc
        unknown = sum(1 for infos in security.values() for info in infos.values() if info["origin"] == "unknown")
        return dict(result, changed=stored > 0, security=security,
                    stats={"stored": stored, "updates": sum(len(infos) for infos in security.values()),
                           "unknown": unknown})
