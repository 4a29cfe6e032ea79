# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rules the dnf and zypper backends share: versions, vendors, advisories, reboot hints.

Pure functions, no Ansible runtime. Both backends turn a pending package and
the advisories (dnf updateinfo, zypper patches) that cover it into one update
record with the same rules, so a host answers the same whichever tool asks.
"""

from __future__ import annotations

import datetime
import fnmatch

from ansible_collections.patchpilot.fleet.plugins.module_utils.records import (
    SEVERITIES,
    RecordError,
    normalise_severity,
)

__all__ = ["advisory_class", "classify", "evr", "is_vendor", "newest_date", "reboot_hint",
           "utc_date", "worst_severity"]

# Advisory types (dnf updateinfo "type", zypper patch "category") onto ours.
# SUSE says "recommended" for bug fixes and "optional"/"feature" for enhancements.
_ADVISORY_CLASSES = {
    "security": "security",
    "bugfix": "bugfix",
    "recommended": "bugfix",
    "enhancement": "enhancement",
    "newpackage": "enhancement",
    "feature": "enhancement",
    "optional": "enhancement",
}
# When several advisories cover one package, the most urgent kind wins.
_CLASS_ORDER = ("security", "bugfix", "enhancement", "other")


def evr(epoch, version: str, release: str | None) -> str:
    """The version string a record carries: ``V-R``, or ``E:V-R`` when the epoch is not 0."""
    text = f"{version}-{release}" if release else version
    epoch = str(epoch or "0").strip()
    return text if epoch in ("0", "", "(none)") else f"{epoch}:{text}"


def is_vendor(vendor_origins, *names) -> bool:
    """Whether any of ``names`` (a package's vendor, its repository id) matches a vendor pattern.

    Patterns are shell-style and case-insensitive, so ``SUSE*`` matches
    ``SUSE LLC <https://www.suse.com/>``; a plain name matches itself.
    """
    patterns = [str(p).strip().lower() for p in (vendor_origins or ()) if str(p).strip()]
    for name in names:
        if name and any(fnmatch.fnmatchcase(name.strip().lower(), p) for p in patterns):
            return True
    return False


def advisory_class(kind: str | None) -> str:
    """Our classification for one advisory type; ``other`` for types we do not know."""
    return _ADVISORY_CLASSES.get((kind or "").strip().lower(), "other")


def classify(advisory_kinds, vendor: bool) -> str:
    """One rule for every RPM backend, in the order the apt backend uses.

    A security advisory makes an update ``security`` whoever ships it; otherwise
    anything from outside the vendor's repositories is ``third_party``; otherwise
    the most urgent advisory type decides (bugfix, then enhancement), and an
    update no advisory covers is ``other``.
    """
    classes = {advisory_class(kind) for kind in advisory_kinds}
    if "security" in classes:
        return "security"
    if not vendor:
        return "third_party"
    for cls in _CLASS_ORDER:
        if cls in classes:
            return cls
    return "other"


def worst_severity(words) -> str | None:
    """The most severe of the advisories' severities, normalised; None when none has one.

    A word we do not know counts as no severity: one odd advisory must not
    fail the scan of a whole host.
    """
    found = []
    for word in words:
        try:
            value = normalise_severity(word)
        except RecordError:
            value = None
        if value:
            found.append(value)
    return min(found, key=SEVERITIES.index) if found else None


def newest_date(dates) -> str | None:
    """The latest of some ISO dates (YYYY-MM-DD), None when there is none."""
    dates = [d for d in dates if d]
    return max(dates) if dates else None


def utc_date(seconds) -> str | None:
    """An ISO date from a Unix time (zypper's ``time_t``); None for 0 or garbage."""
    try:
        value = int(seconds)
    except (TypeError, ValueError):
        return None
    if value <= 0:
        return None
    return datetime.datetime.fromtimestamp(value, tz=datetime.timezone.utc).strftime("%Y-%m-%d")


def reboot_hint(name: str, patterns, advisory_flags=()) -> bool | None:
    """Reboot hint for one package.

    True when an advisory says so (``reboot_suggested``, zypper's restart flag)
    or the name matches one of ``patterns``; False when patterns were given and
    none matches, or an advisory covers the package and says no; None when
    nothing is known.
    """
    flags = list(advisory_flags)
    if any(flag is True for flag in flags):
        return True
    if patterns and any(fnmatch.fnmatchcase(name, p) for p in patterns):
        return True
    if patterns or any(flag is False for flag in flags):
        return False
    return None
