# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""zypper backend: the host's pending package upgrades with their patches, as update records.

``collect(run, options)`` runs zypper (1.14) and hands the captured output to
pure parsers. Every command gets ``--non-interactive``; the listings also get
``--no-refresh`` (nothing is fetched unless ``update_cache`` is set, never in
check mode) and ``--xmlout``::

    zypper --non-interactive --xmlout refresh                  only with update_cache
    zypper ... --xmlout list-updates                           pending packages, old and new edition
    zypper ... --xmlout list-patches --with-optional           patches: category, severity, CVEs,
                                                               restart (reboot) flag, issue date
    zypper ... info NAME... patch:ID...                        package vendor and repository name;
                                                               a patch's packages (its Conflicts)

A patch covers the packages its ``Conflicts`` name (``pkg < fixed-edition``).
zypper's lock held by another process (exit 7), a repository skipped because
it cannot be read (exit 106) and any other error exit raise BackendError with
zypper's own message. The text of ``info`` must come from zypper running with
``LANG=C``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ansible_collections.patchpilot.fleet.plugins.module_utils.backends._rpm import (
    classify,
    is_vendor,
    newest_date,
    reboot_hint,
    utc_date,
    worst_severity,
)
from ansible_collections.patchpilot.fleet.plugins.module_utils.records import BackendError, make_update

__all__ = ["ZypperOutputError", "collect", "parse_info", "parse_list_patches_xml", "parse_list_updates_xml",
           "parse_xml_messages", "records_from"]

#: zypper's exit codes that still mean "done": 100-103 say updates, security
#: updates, a reboot or a package manager restart are needed; 104 that a name
#: given to ``info`` was not found.
_OK_EXITS = (0, 100, 101, 102, 103, 104)
_EXIT_MEANING = {
    1: "internal error", 2: "syntax error", 3: "invalid arguments", 4: "libzypp error",
    5: "not enough privileges", 6: "no repositories defined", 7: "locked by another process",
    8: "commit error", 106: "some repositories were skipped because they cannot be read",
}
#: Patch states that are pending: ``needed``, and ``optional`` (not installed by
#: ``zypper patch`` unless asked, but its packages are pending all the same).
PENDING_PATCH_STATES = ("needed", "optional")
_INFO_HEADER = re.compile(r"^Information for (package|patch|pattern|product|srcpackage) (.+):$")
_INFO_FIELD = re.compile(r"^(\S[^:]*?)\s*:\s?(.*)$")
_CONFLICT = re.compile(r"^(?P<name>[^\s<>=]+)\s*(?:(?P<op><=|<|=)\s*(?P<edition>\S+))?$")


class ZypperOutputError(ValueError):
    """zypper printed something the parsers do not understand."""


# --- parsers ---------------------------------------------------------------------

def _xml(text: str) -> ET.Element:
    try:
        return ET.fromstring((text or "").strip())
    except ET.ParseError as exc:
        raise ZypperOutputError(f"not zypper's XML output ({exc})") from exc


def parse_xml_messages(text: str, kinds=("error",)) -> list[str]:
    """The text of zypper's ``<message type=...>`` elements of the given kinds (XML output)."""
    try:
        root = ET.fromstring((text or "").strip())
    except ET.ParseError:
        return []
    return [(m.text or "").strip() for m in root.iter("message") if m.get("type") in kinds and (m.text or "").strip()]


def _source(element: ET.Element) -> dict:
    src = element.find("source")
    if src is None:
        return {"alias": None, "url": None}
    return {"alias": src.get("alias") or None, "url": src.get("url") or None}


def parse_list_updates_xml(text: str) -> list[dict]:
    """``--xmlout list-updates``: one dict per pending package (kind ``package``)."""
    root = _xml(text)
    if root.find("update-status") is None:
        raise ZypperOutputError("list-updates printed no update-status")
    updates = []
    for item in root.iter("update"):
        if item.get("kind", "package") != "package":
            continue
        if not item.get("name") or not item.get("edition"):
            raise ZypperOutputError(f"list-updates: an update without name or edition: {item.attrib}")
        updates.append({"name": item.get("name"), "arch": item.get("arch") or None,
                        "edition": item.get("edition"), "edition_old": item.get("edition-old") or None,
                        **_source(item)})
    return updates


def _flag(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.strip().lower() == "true"


def parse_list_patches_xml(text: str) -> list[dict]:
    """``--xmlout list-patches``: one dict per patch, pending or not (see ``status``)."""
    root = _xml(text)
    if root.find("update-status") is None:
        raise ZypperOutputError("list-patches printed no update-status")
    patches = []
    for item in root.iter("update"):
        if item.get("kind") != "patch":
            continue
        issued = item.find("issue-date")
        patches.append({
            "id": item.get("name"),
            "status": item.get("status"),
            "category": item.get("category") or None,
            "severity": item.get("severity") or None,
            "reboot": _flag(item.get("restart")),
            "pkgmanager": _flag(item.get("pkgmanager")),
            "interactive": _flag(item.get("interactive")),
            "released": utc_date(issued.get("time_t")) if issued is not None else None,
            "cves": [i.get("id") for i in item.iter("issue") if i.get("type") == "cve" and i.get("id")],
            "bugs": [i.get("id") for i in item.iter("issue") if i.get("type") == "bugzilla" and i.get("id")],
            "summary": (item.findtext("summary") or "").strip() or None,
            **_source(item),
        })
    return patches


def parse_conflict(text: str) -> dict | None:
    """One ``Conflicts`` entry of a patch: ``name[.arch] < edition``; None for non-packages."""
    text = text.strip()
    if not text or text.startswith("srcpackage:"):
        return None
    match = _CONFLICT.match(text)
    if not match:
        raise ZypperOutputError(f"unexpected patch conflict: {text!r}")
    return {"name": match.group("name"), "op": match.group("op"), "edition": match.group("edition")}


def parse_info(text: str) -> dict:
    """Plain ``info`` output: {"package": {name: fields}, "patch": {id: fields}}.

    Each block starts ``Information for KIND NAME:``, then ``Key : value``
    lines; a value spanning lines (Description, Conflicts ``[N]``) continues
    on indented lines. A patch's fields get ``conflicts``: its parsed entries.
    """
    found = {"package": {}, "patch": {}}
    current = None
    key = None
    for line in (text or "").splitlines():
        header = _INFO_HEADER.match(line)
        if header:
            kind, name = header.groups()
            current = found.setdefault(kind, {}).setdefault(name, {"lines": {}})
            key = None
            continue
        if current is None or not line.strip() or set(line.strip()) == {"-"}:
            continue
        field = _INFO_FIELD.match(line)
        if field and not line[0].isspace():
            key, value = field.group(1), field.group(2).strip()
            current["lines"][key] = [value] if value else []
        elif key and line[0].isspace():
            current["lines"][key].append(line.strip())
    for kind, items in found.items():
        for name, item in items.items():
            lines = item.pop("lines")
            for key, values in lines.items():
                item[key.lower()] = " ".join(values) if key != "Conflicts" else values
            if kind == "patch":
                entries = [v for v in lines.get("Conflicts", []) if not re.match(r"^\[\d+\]$", v)]
                item["conflicts"] = [c for c in map(parse_conflict, entries) if c]
    return found


# --- records ---------------------------------------------------------------------

def _covered(patch: dict, packages: dict[tuple, dict]) -> list[tuple]:
    """The pending packages a patch's conflicts name (``name`` or ``name.arch``)."""
    keys = []
    for conflict in patch.get("conflicts") or []:
        name = conflict["name"]
        hits = [key for key in packages if key[0] == name]
        if not hits and "." in name:
            base, arch = name.rsplit(".", 1)
            hits = [key for key in packages if key[0] == base and key[1] == arch]
        keys += hits
    return keys


def records_from(updates: list[dict], patches: list[dict], info: dict, options: dict) -> list:
    """Update records from the parsed outputs: one per pending package."""
    packages = {(u["name"], u["arch"]): u for u in updates}
    covering: dict[tuple, list[dict]] = {}
    for patch in patches:
        if patch["status"] not in PENDING_PATCH_STATES:
            continue
        details = info.get("patch", {}).get(patch["id"])
        if details is None:
            raise ZypperOutputError(f"no info for patch {patch['id']}")
        for key in _covered(details, packages):
            covering.setdefault(key, []).append(patch)
    records = []
    for key, pkg in packages.items():
        details = info.get("package", {}).get(pkg["name"], {})
        vendor = details.get("vendor") or None
        patches_here = covering.get(key, [])
        records.append(make_update(
            name=pkg["name"],
            installed_version=pkg["edition_old"],
            candidate_version=pkg["edition"],
            arch=pkg["arch"],
            source={"repository": pkg["alias"], "origin": vendor, "label": details.get("repository") or None,
                    "suite": None},
            classification=classify([p["category"] for p in patches_here],
                                    is_vendor(options.get("vendor_origins"), vendor, pkg["alias"])),
            severity=worst_severity(p["severity"] for p in patches_here),
            advisories=[p["id"] for p in patches_here],
            cves=[cve for p in patches_here for cve in p["cves"]],
            reboot=reboot_hint(pkg["name"], options.get("reboot_packages"), [p["reboot"] for p in patches_here]),
            released=newest_date(p["released"] for p in patches_here),
            effect="upgrade",
            backend="zypper",
        ))
    return records


# --- running zypper ----------------------------------------------------------------

_BASE = ["zypper", "--non-interactive"]
_LIST = _BASE + ["--no-refresh", "--xmlout"]


def commands(options: dict) -> dict[str, list[str]]:
    """The fixed commands collect() runs, by name (refresh only with update_cache).

    ``info`` follows, naming the pending packages and patches found.
    """
    found = {}
    if options.get("update_cache"):
        found["refresh"] = _BASE + ["--xmlout", "refresh"]
    found["list_updates"] = _LIST + ["list-updates"]
    found["list_patches"] = _LIST + ["list-patches", "--with-optional"]
    return found


def info_command(package_names, patch_ids) -> list[str]:
    return _BASE + ["--no-refresh", "info", *sorted(set(package_names)),
                    *(f"patch:{p}" for p in sorted(set(patch_ids)))]


def _failure(name: str, rc: int, out: str, err: str) -> BackendError:
    messages = parse_xml_messages(out)
    if not messages:
        lines = [ln.strip() for ln in f"{err or ''}\n{out or ''}".splitlines() if ln.strip()]
        messages = lines[-2:] if lines else ["no output"]
    detail = " ".join(" ".join(messages).split())
    meaning = _EXIT_MEANING.get(rc)
    return BackendError(f"zypper {name.replace('_', '-')} failed (exit {rc}{', ' + meaning if meaning else ''}): {detail}")


def _run(run, name: str, argv: list[str]) -> str:
    rc, out, err = run(argv)
    if rc not in _OK_EXITS:
        raise _failure(name, rc, out, err)
    return out or ""


def collect(run, options: dict) -> list:
    """Run zypper on the host through ``run(argv) -> (rc, stdout, stderr)``; return update records."""
    outputs = {name: _run(run, name, argv) for name, argv in commands(options).items()}
    try:
        updates = parse_list_updates_xml(outputs["list_updates"])
        patches = parse_list_patches_xml(outputs["list_patches"])
        pending = [p["id"] for p in patches if p["status"] in PENDING_PATCH_STATES]
        info = {"package": {}, "patch": {}}
        if updates or pending:
            info = parse_info(_run(run, "info", info_command([u["name"] for u in updates], pending)))
        return records_from(updates, patches, info, options)
    except ZypperOutputError as exc:
        raise BackendError(f"zypper: cannot read its output: {exc}") from exc
