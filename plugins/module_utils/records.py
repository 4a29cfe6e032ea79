# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one update record and asset record every backend, report and test uses.

Plain Python, no Ansible runtime: backends build records with
:func:`make_update`, which checks and normalises every field, and hand
plain dicts (``UpdateRecord.as_dict``) to Ansible.

An update record::

    {
        "name": "libssl3",
        "installed_version": "3.0.19-1~deb12u2",   # None for a new dependency
        "candidate_version": "3.0.22-1~deb12u2",   # None for a removal
        "arch": "amd64",
        "source": {"repository": "http://security.example.org/debian-security",
                   "origin": "Debian", "label": "Debian-Security",
                   "suite": "bookworm-security"},
        "classification": "security",   # CLASSIFICATIONS
        "severity": "high",             # SEVERITIES, or None when the source has none
        "advisories": ["DSA-5800-1"],
        "cves": ["CVE-2026-1234"],
        "reboot": False,                # reboot hint: True, False, or None (unknown)
        "first_seen": "2026-11-27",     # ISO date, or None
        "released": "2026-11-20",       # ISO date, or None
        "effect": "upgrade",            # EFFECTS
        "backend": "apt",               # BACKENDS
    }
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

__all__ = [
    "BACKENDS", "CLASSIFICATIONS", "EFFECTS", "SEVERITIES", "BackendError", "RecordError", "UpdateRecord",
    "classify_release", "highest_severity", "make_update", "normalise_severity", "sort_key", "summarise",
    "upstream_major",
    "STALE_INDEX_CHOICES", "index_problem", "make_index", "stale_index_failure",
]

CLASSIFICATIONS = ("security", "bugfix", "enhancement", "other", "third_party")
SEVERITIES = ("critical", "high", "medium", "low")
EFFECTS = ("upgrade", "new_dependency", "removal", "kept_back")
BACKENDS = ("apt", "dnf", "zypper", "windows", "macos", "homebrew")
#: Backends that upgrade an installed package (and so always know its version).
#: Windows updates (KBs) and macOS software updates have no installed version.
PACKAGE_BACKENDS = ("apt", "dnf", "zypper", "homebrew")

_CVE_RE = re.compile(r"^CVE-\d{4}-\d{4,}$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# Words vendors use for severity, mapped onto ours. MSRC and Red Hat say
# Critical/Important/Moderate/Low, SUSE the same in lower case, Debian's
# security tracker high/medium/low/unimportant.
_SEVERITY_WORDS = {
    "critical": "critical",
    "important": "high",
    "high": "high",
    "moderate": "medium",
    "medium": "medium",
    "low": "low",
    "unimportant": "low",
    "negligible": "low",
}
_NO_SEVERITY = {"", "none", "unspecified", "unknown", "not yet assigned", "n/a"}


class RecordError(ValueError):
    """A record that cannot be built: names the field and the bad value."""


def highest_severity(severities) -> str | None:
    """The highest of ``severities`` (values outside SEVERITIES, None included, are left out); None when none is."""
    known = [value for value in severities if value in SEVERITIES]
    return min(known, key=SEVERITIES.index) if known else None


def normalise_severity(value) -> str | None:
    """Map a vendor's severity word onto SEVERITIES; None when the vendor gives none."""
    if value is None:
        return None
    word = str(value).strip().lower()
    if word in _NO_SEVERITY:
        return None
    if word in _SEVERITY_WORDS:
        return _SEVERITY_WORDS[word]
    raise RecordError(f"severity: unknown value {value!r}")


def classify_release(origin: str | None, label: str | None, suite: str | None,
                     vendor_origins=("Debian",)) -> str:
    """One rule over release metadata (apt's Release files) for every archive.

    Security when the Label ends in ``-Security`` (Debian's ``Debian-Security``)
    or the suite/codename is a security pocket (``bookworm-security``,
    ``stable-security``, the old ``bullseye/updates`` style); otherwise the
    vendor's own archives are ``bugfix`` (a stable release takes fixes only)
    and anybody else's are ``third_party``.
    """
    label_l = (label or "").strip().lower()
    suite_l = (suite or "").strip().lower()
    if label_l.endswith("-security") or label_l.endswith(" security") \
            or suite_l.endswith("-security") or suite_l.endswith("/updates"):
        return "security"
    vendors = {v.strip().lower() for v in vendor_origins}
    if (origin or "").strip().lower() in vendors:
        return "bugfix"
    return "third_party"


@dataclass
class UpdateRecord:
    name: str
    installed_version: str | None
    candidate_version: str | None
    arch: str | None
    source: dict
    classification: str
    severity: str | None
    advisories: list = field(default_factory=list)
    cves: list = field(default_factory=list)
    reboot: bool | None = None
    first_seen: str | None = None
    released: str | None = None
    effect: str = "upgrade"
    backend: str = "apt"

    def as_dict(self) -> dict:
        return asdict(self)


def _opt_str(name: str, value) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise RecordError(f"{name}: expected a string, got {value!r}")
    return value


def make_update(*, name, installed_version=None, candidate_version=None, arch=None, source=None,
                classification="other", severity=None, advisories=(), cves=(), reboot=None,
                first_seen=None, released=None, effect="upgrade", backend) -> UpdateRecord:
    """Build a checked, normalised update record (raises RecordError naming the field)."""
    if not isinstance(name, str) or not name:
        raise RecordError(f"name: expected a package name, got {name!r}")
    if classification not in CLASSIFICATIONS:
        raise RecordError(f"classification: {classification!r} is not one of {', '.join(CLASSIFICATIONS)}")
    if effect not in EFFECTS:
        raise RecordError(f"effect: {effect!r} is not one of {', '.join(EFFECTS)}")
    if backend not in BACKENDS:
        raise RecordError(f"backend: {backend!r} is not one of {', '.join(BACKENDS)}")
    if severity is not None and severity not in SEVERITIES:
        severity = normalise_severity(severity)
    if effect == "upgrade" and not candidate_version:
        raise RecordError(f"{name}: an upgrade needs the candidate version")
    if effect == "upgrade" and not installed_version and backend in PACKAGE_BACKENDS:
        raise RecordError(f"{name}: a {backend} upgrade needs the installed version")
    if reboot not in (None, True, False):
        raise RecordError(f"reboot: expected true, false or null, got {reboot!r}")
    for date_name, date in (("first_seen", first_seen), ("released", released)):
        if date is not None and not (isinstance(date, str) and _DATE_RE.match(date)):
            raise RecordError(f"{date_name}: expected an ISO date YYYY-MM-DD, got {date!r}")
    cve_list = sorted({str(c).strip().upper() for c in cves if str(c).strip()})
    bad = [c for c in cve_list if not _CVE_RE.match(c)]
    if bad:
        raise RecordError(f"cves: not CVE ids: {', '.join(bad)}")
    src = {"repository": None, "origin": None, "label": None, "suite": None}
    for key, value in (source or {}).items():
        if key not in src:
            raise RecordError(f"source: unknown key {key!r}")
        src[key] = _opt_str(f"source.{key}", value)
    return UpdateRecord(
        name=name, installed_version=_opt_str("installed_version", installed_version),
        candidate_version=_opt_str("candidate_version", candidate_version),
        arch=_opt_str("arch", arch), source=src, classification=classification,
        severity=severity, advisories=sorted({str(a) for a in advisories if a}), cves=cve_list,
        reboot=reboot, first_seen=first_seen, released=released, effect=effect, backend=backend,
    )


def summarise(records: list) -> dict:
    """Counts of update records (dicts): total, per effect, per classification."""
    summary = {"total": len(records)}
    for effect in EFFECTS:
        summary[effect] = sum(1 for r in records if r["effect"] == effect)
    for classification in CLASSIFICATIONS:
        summary[classification] = sum(1 for r in records if r["classification"] == classification)
    return summary


def sort_key(record: dict):
    """A stable order for reports: by effect, then name, then arch."""
    return (EFFECTS.index(record["effect"]), record["name"], record.get("arch") or "")


#: What a policy's ``scan.stale_index`` does with a host whose index could not be refreshed.
STALE_INDEX_CHOICES = ("report", "fail")


def make_index(*, refreshed: bool, age_seconds=None, errors=()) -> dict:
    """The package index record a scan returns beside its update records::

        {"refreshed": False,     # the refresh was done and every source answered
         "stale": True,          # a refresh was tried and some source failed: scanned from the old index
         "age_seconds": 86400,   # age of the newest index data the host held (None: unknown, no index)
         "errors": [{"source": "http://example.org/debian stable",
                     "message": "404  Not Found [IP: 192.0.2.20 80]"}]}   # the package manager's words
    """
    if age_seconds is not None and (isinstance(age_seconds, bool) or not isinstance(age_seconds, int)
                                    or age_seconds < 0):
        raise RecordError(f"index.age_seconds: expected a whole number of seconds, got {age_seconds!r}")
    checked = []
    for error in errors:
        if not isinstance(error, dict) or not error.get("source") or not error.get("message"):
            raise RecordError(f"index.errors: expected {{source, message}}, got {error!r}")
        checked.append({"source": str(error["source"]), "message": str(error["message"])})
    return {"refreshed": bool(refreshed) and not checked, "stale": bool(checked),
            "age_seconds": age_seconds, "errors": checked}


def _age_text(seconds) -> str:
    if seconds is None:
        return "of unknown age"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} old"
    return f"{seconds} seconds old"


def index_problem(index) -> str | None:
    """One line for a report: the failing sources with the package manager's words and the index's age."""
    if not isinstance(index, dict) or not index.get("stale"):
        return None
    sources = "; ".join(f"{e.get('source')}: {e.get('message')}" for e in index.get("errors") or ())
    return (f"the package index could not be refreshed: {sources or 'no detail'}; "
            f"the index it has is {_age_text(index.get('age_seconds'))}")


def stale_index_failure(index, stale_index: str = "report") -> str | None:
    """The reason to fail a host whose package index is stale, or None to scan it as it is.

    ``stale_index`` is the policy's ``scan.stale_index``: ``report`` keeps the
    host (its report says the index is stale), ``fail`` fails it.
    """
    if stale_index not in STALE_INDEX_CHOICES:
        raise ValueError(f"stale_index: {stale_index!r} is not one of {', '.join(STALE_INDEX_CHOICES)}")
    problem = index_problem(index)
    if problem is None or stale_index == "report":
        return None
    return f"{problem}; the policy fails such a host (scan.stale_index: fail)"


class BackendError(Exception):
    """A host-side problem a backend found (locked or broken package manager,
    unreadable repository): the module fails with this message for that host."""


def upstream_major(version: str | None) -> str | None:
    """The upstream major version of a Debian/RPM version string: '2:1.4.0-3' -> '1'."""
    if not version:
        return None
    text = version.split(":", 1)[-1]
    text = text.rsplit("-", 1)[0] if "-" in text else text
    match = re.match(r"^(\d+)", text)
    return match.group(1) if match else None
