# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A policy the schema and the named checks have accepted, in its normal form (policy.py's docstring).

Nothing here checks anything: each function takes a section as written
(policy_schema.as_json's form, valid) and gives it with the defaults filled in
(from the schema's ``default``), strings trimmed, repeats left out, sizes as
numbers or ``{"percent": N}``, commands as argument lists, hooks and
notification targets in their long form.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from ansible_collections.patchpilot.fleet.plugins.module_utils import policy_schema as _schema
from ansible_collections.patchpilot.fleet.plugins.module_utils.maintenance import parse_date
from ansible_collections.patchpilot.fleet.plugins.module_utils.policy_checks import percent


def section(data: Mapping, key: str) -> dict:
    """The schema's defaults for a section, overlaid with what the policy sets (one level)."""
    out = _schema.defaults(key)
    given = data.get(key)
    if isinstance(given, Mapping):
        out.update(given)
    return out


def scan(data: Mapping) -> dict:
    """The scan section: ``urgency_severity`` overlaid key by key on its default, in lower case."""
    out = section(data, "scan")
    given = (data.get("scan") or {}).get("urgency_severity") if isinstance(data.get("scan"), Mapping) else None
    mapping = dict(_schema.defaults("scan")["urgency_severity"], **(given if isinstance(given, Mapping) else {}))
    out["urgency_severity"] = {name: str(value).strip().lower() for name, value in mapping.items()}
    return out


def unique(items, change=lambda item: item.strip()) -> list:
    found = []
    for item in items or ():
        item = change(item)
        if item not in found:
            found.append(item)
    return found


def _in_order(items, allowed) -> list:
    """Words from ``allowed`` (given in any case), in ``allowed``'s order."""
    given = {item.strip().lower() for item in items or ()}
    return [word for word in allowed if word in given]


def _hosts(value):
    return value if isinstance(value, int) else int(value.strip())


def approvals(data: Mapping, today) -> tuple:
    """(the approvals section, warnings): expired rejections are warnings."""
    out = section(data, "approvals")
    auto = _schema.defaults("approvals", "auto")
    auto.update(out["auto"] or {})
    out["auto"] = {
        "classifications": _in_order(auto.get("classifications"),
                                     _schema.node("approvals", "auto", "classifications")["items"]["enum"]),
        "severities": _in_order(auto.get("severities"), _schema.node("approvals", "auto", "severities")["items"]["enum"]),
        "after_days": auto.get("after_days"),
    }
    out["approve"] = [dict(_subject(item), note=item.get("note")) for item in out["approve"]]
    out["reject"] = [dict(_subject(item), reason=item["reason"].strip(), expires=item["expires"].strip(),
                          expired=item["expires"].strip() < today.isoformat()) for item in out["reject"]]
    return out, expired_rejections(data, today)


def _subject(item: Mapping) -> dict:
    for kind in ("package", "cve", "advisory"):
        if kind in item:
            value = item[kind].strip()
            return {kind: value.upper() if kind == "cve" else value}
    return {}


def emergency(data: Mapping) -> dict:
    out = section(data, "emergency")
    out["cves"] = unique(out["cves"], lambda cve: cve.strip().upper())
    out["packages"] = unique(out["packages"])
    return out


def rollout(data: Mapping) -> dict:
    out = section(data, "rollout")
    out["canary"] = _canary(out["canary"])
    out["waves"] = [_wave(item) for item in out["waves"]]
    out["anti_affinity"] = [{"group": item["group"].strip()} if isinstance(item, Mapping) else unique(item)
                            for item in out["anti_affinity"]]
    return out


def _canary(value):
    if value is None:
        return None
    if "cover" in value:
        out = {"cover": unique(value["cover"]), "max": value.get("max"),
               "exclude_criticality": sorted({word.strip().lower() for word in value.get("exclude_criticality") or ()})}
        if "hosts" in value:
            out["hosts"] = unique(value["hosts"])
        return out
    if "hosts" in value:
        return {"hosts": unique(value["hosts"])}
    if "group" in value:
        return {"group": value["group"].strip()}
    item = value["percent"]
    share = percent(item) if isinstance(item, str) else item
    return {"percent": int(share) if float(share).is_integer() else share}


def _wave(item):
    if isinstance(item, str) and item.strip().lower() == "rest":
        return "rest"
    if isinstance(item, int) or item.strip().isdigit():
        return _hosts(item)
    return {"percent": percent(item)}


def budget(data: Mapping) -> dict:
    out = section(data, "budget")
    value = out["max_failed"]
    out["max_failed"] = {"percent": percent(value)} if isinstance(value, str) and "%" in value else _hosts(value)
    return out


def health_checks(data: Mapping) -> dict:
    out = section(data, "health_checks")
    out["services"] = unique(out["services"])
    out["ports"] = unique(out["ports"], lambda port: port)
    http = _schema.defaults("$defs", "http_check")
    out["http"] = [{"name": (item.get("name") or item["url"]).strip(), "url": item["url"].strip(),
                    "status": item.get("status", http["status"]), "timeout": item.get("timeout", http["timeout"])}
                   for item in out["http"]]
    commands = []
    for item in out["commands"]:
        argv = command(item["command"])
        commands.append({"name": (item.get("name") or shlex.join(argv)).strip(), "command": argv,
                         "rc": item.get("rc", _schema.defaults("$defs", "command_check")["rc"])})
    out["commands"] = commands
    return out


def command(value) -> list:
    """A command as an argument list: a command line split as a shell would (no shell runs it), or the list."""
    return shlex.split(value) if isinstance(value, str) else list(value)


def hooks(data: Mapping) -> dict:
    out = section(data, "hooks")
    for phase in out:
        out[phase] = [hook(item, phase) for item in out[phase]]
    return out


def hook(item, phase: str, is_undo: bool = False) -> dict:
    """One hook in its normal form (docs/policy.md, hooks)."""
    place = "host" if phase.endswith("_host") else "controller"
    base = {"name": None, "command": None, "url": None, "url_var": None, "on": place, "method": None,
            "headers": None, "body": None, "status": None,
            "timeout": _schema.defaults("$defs", "hook_mapping")["timeout"], "token_var": None, "token_header": None,
            "undo": None}
    if not isinstance(item, Mapping):
        argv = command(item)
        return dict(base, name=item.strip() if isinstance(item, str) else shlex.join(argv), command=argv)
    out = dict(base, timeout=item.get("timeout", base["timeout"]))
    if "command" in item:
        out["command"] = command(item["command"])
        out["on"] = item.get("on", place)
        default_name = shlex.join(out["command"])
    else:
        defaults = _schema.defaults("$defs", "hook_mapping")
        out["url"] = item["url"].strip() if "url" in item else None
        out["url_var"] = item["url_var"].strip() if "url_var" in item else None
        out["headers"] = _headers(item.get("headers"))
        out["token_var"], out["token_header"] = _token(item)
        out["on"] = "controller"
        out["method"] = item.get("method", defaults["method"]).strip().upper()
        out["body"] = _string_keys(item["body"]) if "body" in item else None
        out["status"] = item.get("status", defaults["status"])
        default_name = f"{out['method']} {out['url'] or '<' + (out['url_var'] or '') + '>'}"
    out["name"] = item["name"].strip() if "name" in item else default_name
    if "undo" in item and not is_undo:
        out["undo"] = hook(item["undo"], phase, is_undo=True)
    return out


def _string_keys(value):
    """A hook's body as JSON data: every key a string."""
    if isinstance(value, Mapping):
        return {str(key): _string_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_string_keys(item) for item in value]
    return value


def _headers(headers) -> dict:
    return {name: str(value) for name, value in (headers or {}).items()}


def _token(item: Mapping) -> tuple:
    """(token_var, token_header): the variable with the secret sent in a header, and the header."""
    token_var = item["token_var"].strip() if "token_var" in item else None
    if token_var is None:
        return None, None
    return token_var, item.get("token_header", "Authorization").strip()


def notifications(data: Mapping) -> list:
    out = []
    props = _schema.node("$defs", "notification")["properties"]
    for item in data.get("notifications") or ():
        kind = item["type"]
        target = item.get("target")
        entry = {"type": kind, "target": target.strip() if isinstance(target, str) else None,
                 "events": _in_order(item["events"], props["events"]["items"]["enum"]) if "events" in item
                 else list(props["events"]["default"])}
        if kind == "email":
            entry.update({
                "smtp_host": item.get("smtp_host", props["smtp_host"]["default"]).strip(),
                "smtp_port": item.get("smtp_port", props["smtp_port"]["default"]),
                "from": item["from"].strip() if "from" in item else None,
                "secure": item.get("secure", props["secure"]["default"]),
                "username": item["username"].strip() if "username" in item else None,
                "password_var": item["password_var"].strip() if "password_var" in item else None,
            })
        elif kind == "webhook":
            url_var = item["url_var"].strip() if "url_var" in item else None
            token_var, token_header = _token(item)
            entry.update({
                "method": item.get("method", props["method"]["default"]).strip().upper(),
                "headers": _headers(item.get("headers")),
                "auth": item.get("auth", props["auth"]["default"]),
                "url_var": url_var, "token_var": token_var, "token_header": token_header,
                # What the play's output and notify_result show for the target: never a URL held in a variable.
                "label": entry["target"] if entry["target"] is not None else f"<{url_var}>",
            })
        out.append(entry)
    return out


def snapshot(data: Mapping) -> dict:
    out = section(data, "snapshot")
    out["groups"] = {str(group): provider for group, provider in (out["groups"] or {}).items()}
    keep = out.get("keep") or {}
    out["keep"] = {"runs": keep.get("runs"), "days": keep.get("days")}  # a key left out is not in force
    return out


def expired_rejections(data: Mapping, today) -> list:
    """A warning for each rejection (as written) whose expiry date has passed: it no longer applies."""
    approvals_ = data.get("approvals") if isinstance(data.get("approvals"), Mapping) else {}
    found = []
    for index, item in enumerate(approvals_.get("reject") if isinstance(approvals_.get("reject"), list) else ()):
        expires = item.get("expires") if isinstance(item, Mapping) else None
        when = parse_date(expires.strip()) if isinstance(expires, str) else None
        if when is not None and when < today:
            found.append(f"approvals.reject[{index}]: expired on {when.isoformat()}; it no longer applies")
    return found
