# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Windows backend: the result of ``ansible.windows.win_updates`` as update records.

Runs on the controller: the action plugin ``patchpilot.fleet.windows_missing_updates``
runs ``ansible.windows.win_updates`` with ``state: searched`` and hands its
result to :func:`normalise_win_updates`.

What ``win_updates`` returns (ansible.windows 3.x, ``RETURN`` of
``plugins/modules/win_updates.py``): ``updates`` and ``filtered_updates``,
dicts keyed by the update's GUID, each ``{id, title, kb, categories,
downloaded, installed}`` where ``kb`` holds the bare article numbers
(``["5046616"]``, the action plugin strips the ``KB``) and ``categories``
holds the update's classification (``Security Updates``) next to its
products (``Microsoft Defender Antivirus``). Entries of ``filtered_updates``
add ``filtered_reasons``.

How a record is made:

* ``name``: ``KB<first article>``, or the title when the update has no KB
  (drivers), less a trailing `` - <version>`` (``Intel - System - 10.1.1.44``
  becomes ``Intel - System``).
* ``candidate_version``: the version the title carries (``(Version
  1.421.1183.0)`` of a Defender definition update, the `` - 10.1.1.44`` of a
  driver), else ``KB<article>``, else the update's GUID: a KB is Windows' own
  identifier of what gets installed.
* ``installed_version``: None. Windows Update offers an update, not a newer
  version of something installed.
* ``classification`` from the classification category, by Microsoft's own
  definitions (KB 824684, "Description of the standard terminology that is
  used to describe Microsoft software updates",
  https://support.microsoft.com/en-us/help/824684): Security Updates are ``security``;
  Critical Updates ("a fix for a critical, non-security-related bug"),
  Updates and Update Rollups are ``bugfix``; Feature Packs, Service Packs and
  Upgrades are ``enhancement``; Definition Updates, Drivers, Tools and the
  rest are ``other``. Several classification categories: the first of
  security, bugfix, enhancement, other wins.
* ``severity``: None. The Windows Update Agent knows an update's MSRC severity
  (``IUpdate.MsrcSeverity``) but ``win_updates`` does not return it.
* ``reboot``: None. ``win_updates`` returns no per-update reboot behaviour
  (its ``reboot_required`` is the host's pending reboot; the action plugin
  returns it beside the records).
* ``advisories``: every ``KB<article>``; ``arch`` from the title (``x64``,
  ``x86``, ``arm64``) or None.
* ``source``: origin ``Microsoft``; ``label`` the classification category as
  Windows names it; ``suite`` the first product category; ``repository``
  None (Windows Update or WSUS is the host's configuration, not in the result).
* ``effect``: ``upgrade``; ``backend``: ``windows``.

``filtered_updates`` (hidden, rejected or outside ``category_names``) give no
records, nor do updates ``win_updates`` reports as installed (a result of
``state: installed``: they are no longer missing).
"""

from __future__ import annotations

import re

from ansible_collections.patchpilot.fleet.plugins.module_utils.records import (
    BackendError,
    RecordError,
    make_update,
)

__all__ = ["CATEGORY_CLASSIFICATIONS", "classify_categories", "normalise_win_updates"]

# Windows Update classification categories (lower case) and our classification.
CATEGORY_CLASSIFICATIONS = {
    "security updates": "security",
    "critical updates": "bugfix",
    "updates": "bugfix",
    "update rollups": "bugfix",
    "feature packs": "enhancement",
    "service packs": "enhancement",
    "upgrades": "enhancement",
    "definition updates": "other",
    "drivers": "other",
    "driver sets": "other",
    "tools": "other",
    "application": "other",
    "applications": "other",
    "connectors": "other",
    "developer kits": "other",
    "guidance": "other",
}
_PRECEDENCE = ("security", "bugfix", "enhancement", "other")

_TITLE_VERSION_RE = re.compile(r"\(Version (\d+(?:\.\d+)+)\)")
_DRIVER_VERSION_RE = re.compile(r"^(?P<name>.+?) - (?P<version>\d+(?:\.\d+)+)$")
_ARCH_RE = re.compile(r"\b(x64|x86|arm64)\b", re.IGNORECASE)
_KB_RE = re.compile(r"^(?:KB)?(\d+)$", re.IGNORECASE)


def classify_categories(categories) -> tuple[str, str | None, str | None]:
    """(classification, classification category, first product category) of an update."""
    classified = []
    products = []
    for category in categories or ():
        text = str(category).strip()
        found = CATEGORY_CLASSIFICATIONS.get(text.lower())
        if found:
            classified.append((found, text))
        elif text:
            products.append(text)
    product = products[0] if products else None
    if not classified:
        return "other", None, product
    classification, label = min(classified, key=lambda item: _PRECEDENCE.index(item[0]))
    return classification, label, product


def _kb_numbers(update_id: str, kbs) -> list[str]:
    if kbs is None:
        return []
    if isinstance(kbs, str) or not isinstance(kbs, (list, tuple)):
        raise BackendError(f"win_updates: update {update_id}: 'kb' is not a list: {kbs!r}")
    numbers = []
    for kb in kbs:
        match = _KB_RE.match(str(kb).strip())
        if not match:
            raise BackendError(f"win_updates: update {update_id}: not a KB number: {kb!r}")
        numbers.append(match.group(1))
    return numbers


def _record(update_id: str, info: dict):
    title = info.get("title")
    if not isinstance(title, str) or not title.strip():
        raise BackendError(f"win_updates: update {update_id} has no title")
    title = title.strip()
    categories = info.get("categories")
    if categories is not None and not isinstance(categories, (list, tuple)):
        raise BackendError(f"win_updates: update {update_id}: 'categories' is not a list: {categories!r}")
    kbs = [f"KB{number}" for number in _kb_numbers(update_id, info.get("kb"))]

    name = kbs[0] if kbs else title
    version = None
    match = _TITLE_VERSION_RE.search(title)
    if match:
        version = match.group(1)
    else:
        match = _DRIVER_VERSION_RE.match(title)
        if match:
            version = match.group("version")
            if not kbs:
                name = match.group("name")
    if version is None:
        version = kbs[0] if kbs else update_id

    arch_match = _ARCH_RE.search(title)
    classification, label, product = classify_categories(categories)
    return make_update(
        name=name,
        installed_version=None,
        candidate_version=version,
        arch=arch_match.group(1).lower() if arch_match else None,
        source={"origin": "Microsoft", "label": label, "suite": product},
        classification=classification,
        severity=None,
        advisories=kbs,
        reboot=None,
        effect="upgrade",
        backend="windows",
    )


def normalise_win_updates(result: dict) -> list:
    """Update records (``records.UpdateRecord``) from a ``win_updates`` result.

    Raises BackendError when the result is a failure (with its ``msg``) or is
    not a ``win_updates`` result at all.
    """
    if not isinstance(result, dict):
        raise BackendError(f"win_updates: expected the task result as a dict, got {type(result).__name__}")
    if result.get("failed"):
        raise BackendError(str(result.get("msg") or "win_updates failed without a message"))
    updates = result.get("updates")
    if not isinstance(updates, dict):
        raise BackendError("win_updates: the result has no 'updates' dict (is it a win_updates result?)")
    records = []
    for key, info in updates.items():
        if not isinstance(info, dict):
            raise BackendError(f"win_updates: update {key}: expected a dict, got {info!r}")
        update_id = str(info.get("id") or key)
        if info.get("installed"):
            continue
        try:
            records.append(_record(update_id, info))
        except RecordError as exc:
            raise BackendError(f"win_updates: update {update_id}: {exc}") from exc
    records.sort(key=lambda r: (r.name, r.candidate_version or ""))
    return records
