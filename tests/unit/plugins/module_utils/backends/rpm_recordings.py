"""Shared by the dnf and zypper backend tests: the recordings of the real tools on the lab's RPM host."""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "rpm"
OPTIONS = {"update_cache": False, "vendor_origins": ["Patchpilot Lab"], "reboot_packages": ["pprpm-kernel"],
           "releasever": "12"}
SOURCE = {"repository": "patchpilot-lab", "origin": "Patchpilot Lab", "label": "Patchpilot Lab RPM repository",
          "suite": None}


def output(case: str, name: str, stream: str = "stdout") -> str:
    return (FIXTURES / case / f"{name}.{stream}").read_text(encoding="utf-8")


class Replay:
    """A ``run`` that answers from the recordings of one case, by exact argv.

    Commands the case did not record are taken from ``fallback`` (the error
    cases record only the failing command).
    """

    def __init__(self, case: str, fallback: str | None = "pending"):
        self.answers = {}
        self.calls = []
        for folder in (case, fallback):
            if folder is None:
                continue
            runs = json.loads((FIXTURES / folder / "runs.json").read_text(encoding="utf-8"))
            for name, entry in runs.items():
                self.answers.setdefault(tuple(entry["argv"]), (
                    entry["rc"], output(folder, name), output(folder, name, "stderr")))

    def __call__(self, argv):
        self.calls.append(list(argv))
        assert tuple(argv) in self.answers, f"no recording of {argv}"
        return self.answers[tuple(argv)]


def by_name(records) -> dict:
    return {r.name: r.as_dict() for r in records}


def record(name, installed, candidate, backend="dnf", **fields):
    base = {"name": name, "installed_version": installed, "candidate_version": candidate, "arch": "noarch",
            "source": SOURCE, "classification": "other", "severity": None, "advisories": [], "cves": [],
            "reboot": False, "first_seen": None, "released": None, "effect": "upgrade", "backend": backend}
    return base | fields


def expected_pending(backend: str) -> dict:
    """What the backend must report on a fresh RPM lab host (lab/patchpilot_lab/rpm.py), with OPTIONS."""
    return {
        "pprpm-seclib": record("pprpm-seclib", "1.0-1", "1.0-2", backend, classification="security",
                               severity="high", advisories=["PPRPM-SA-2026-0001"],
                               cves=["CVE-2026-91001", "CVE-2026-91002"], released="2026-03-02"),
        "pprpm-tools": record("pprpm-tools", "1.0-1", "1.1-1", backend, classification="bugfix", severity="medium",
                              advisories=["PPRPM-BA-2026-0002"], released="2026-02-16"),
        "pprpm-tools-libs": record("pprpm-tools-libs", "1:1.0-1", "1:1.1-1", backend, classification="bugfix",
                                   severity="medium", advisories=["PPRPM-BA-2026-0002"], released="2026-02-16"),
        "pprpm-kernel": record("pprpm-kernel", "1.0-1", "1.1-1", backend, classification="enhancement",
                               advisories=["PPRPM-EA-2026-0003"], reboot=True, released="2026-03-09"),
        "pprpm-extra": record("pprpm-extra", "1.0-1", "1.0-2", backend),
    }
