# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation shared by the actions that read every host's scan results (scan_report, plan)."""

from __future__ import annotations


class ModuleDocFragment:
    # The variables playbooks/scan.yml registers on each host.
    DOCUMENTATION = r"""
options:
  asset_var:
    description:
      - Variable holding each host's registered M(patchpilot.fleet.asset_facts) result.
      - Its asset record carries the host's C(machine_id) (or C(machine_id_reason) when it has none), which the
        asset inventory reports beside the host's name and which identifies the machine across renames and
        reinstalls (docs/identity.md).
    type: str
    default: scan_asset
  updates_var:
    description: Variable holding each host's registered M(patchpilot.fleet.missing_updates) result.
    type: str
    default: scan_updates
  error_var:
    description: Variable holding the reason a host's scan failed.
    type: str
    default: scan_error
  security_var:
    description:
      - Variable holding, per host, what the Debian changelogs of its apt updates say (the
        C(security) of M(patchpilot.fleet.changelogs) for that host); merged into its update records.
    type: str
    default: scan_security
  first_seen_file:
    description:
      - The date each host's pending update was first seen is kept across scans in the history store
        (O(history_store)); C(approvals.auto.after_days) counts from it when an update's release date is
        unknown. This names the JSON file of earlier versions (C(<state dir>/first_seen.json)); its folder
        is the state directory (the embedded store's), an existing file is imported into the store once
        and renamed C(first_seen.json.imported), and when the store cannot be opened the dates are read
        from and written to this file, with one warning.
    type: path
  history_store:
    description:
      - The history store (C(patchpilot_history_store)) - empty for C(history.sqlite) in the folder of
        O(first_seen_file), an absolute path of a SQLite file, or a C(postgresql://user:password@host/db)
        URL (docs/history-store.md). Secret (the URL's password); never shown.
      - Used only with O(first_seen_file).
    type: str
"""

    # The Debian Security Tracker export.
    TRACKER = r"""
options:
  security_tracker:
    description:
      - A Debian Security Tracker JSON export - a file on the controller (the user's download of
        U(https://security-tracker.debian.org/tracker/data/json)) or an http(s) URL of it, fetched at
        most once per O(tracker_max_age_hours) and kept in O(tracker_cache); when a fetch fails the kept
        copy is used and a warning gives its age.
      - The CVEs each apt upgrade fixes on a Debian host and their urgency are added to its records
        (urgency raises the severity, never lowers it); the tracker is keyed by source package, which
        the changelog step (M(patchpilot.fleet.changelogs)) names for each record.
    type: str
  tracker_cache:
    description: Folder keeping the fetched export (a URL needs one).
    type: path
  tracker_max_age_hours:
    description: How old the kept copy of a URL's export may be before it is fetched again.
    type: float
    default: 24
"""
