# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The records of the history store: one shape, written by the feed, read by the reports.

Every record is a row of :mod:`history_store` (``id, at, kind, run_id, host,
machine_id, package, version, state, data``, chained by hash). The kinds:

``run`` (one per run, each time the run's state changes)
    ``run_id``; ``state`` one of runrecord.RUN_STATES; ``data``: ``started``,
    ``finished``, ``user`` (who ran it), ``approved_by`` (the plan's approver,
    or None), ``change_ticket``, ``policy_digest``, ``policy`` (the plan's
    run-time slice of it), ``policy_file``, ``scope`` (the inventory
    scope), ``inventory``, ``project_commit`` (None when unknown),
    ``awx_job_id``, ``awx_user``, ``controller``, ``playbook``, ``hosts``
    (every host in the plan), ``halted`` (the reason, or None), ``emergency``.

``asset`` (one per host and scan or run, when its facts are known)
    ``host``, ``machine_id``; ``data``: ``hostname``, ``location``, ``ip``,
    ``mac``, ``os`` (name and version), ``revision`` (the host's revision
    level: kernel and the OS point release), ``group``, ``criticality``,
    ``data_sensitivity``, ``internet_exposed``, ``eol`` (``{status, date}``
    or None), ``reachable``.

``host`` (one per host and run, at its end)
    ``run_id``, ``host``, ``machine_id``; ``state`` one of :data:`HOST_RESULTS`;
    ``data``: ``wave``, ``canary`` (bool), ``phases`` (``[{phase, at}]``),
    ``snapshot`` (``{provider, id}`` or None), ``reboots`` (ISO times),
    ``error`` (the failure's message, or None), ``unreachable`` (bool),
    ``versions`` (``{package: version}`` installed at the end).

``update`` (one per host, update and lifecycle state reached)
    ``run_id`` (None for a scan's ``missing``), ``host``, ``machine_id``,
    ``package``, ``version`` (the candidate), ``state`` one of :data:`LIFECYCLE`,
    ``at`` when it was reached; ``data``: ``from_version``, ``severity``,
    ``cves``, ``due`` (ISO date, by the policy's SLA), ``error`` (for
    ``failed``), ``approved_by`` (the person who approved the plan, or None),
    ``approval`` (the policy's reason it was approved).

``exception`` (an update held back on purpose, per host and run or scan)
    ``host``, ``package``, ``version``; ``state`` ``held`` or ``rejected``;
    ``data``: ``reason``, ``expires`` (ISO date or None), ``expired`` (bool).

``purge`` (written by the store itself; see history_store.Store.purge).

A lifecycle state is written once per run, host and update: the feed is
idempotent (the same run fed twice adds nothing); :func:`key` is what makes
two records the same.

Plain Python, no Ansible runtime.
"""

from __future__ import annotations

__all__ = ["EXCEPTION_STATES", "HOST_RESULTS", "KINDS", "LIFECYCLE", "key"]

KINDS = ("run", "asset", "host", "update", "exception", "purge")

#: An update's lifecycle, in order. ``tested``: verified on a canary host of the run;
#: ``active``: installed and no service still runs the old files (restart role);
#: ``failed`` and ``rolled_back`` end it early.
LIFECYCLE = ("missing", "approved", "downloaded", "tested", "installed", "active", "verified", "failed",
             "rolled_back")

#: A host's result in a run (its last phase, or unreachable / not started).
HOST_RESULTS = ("done", "failed", "rolled_back", "abandoned", "unreachable", "not_started")

EXCEPTION_STATES = ("held", "rejected")


def key(record: dict) -> tuple:
    """What makes two records the same event: the feed writes each key once."""
    return (record.get("kind"), record.get("run_id"), record.get("host"), record.get("package"),
            record.get("version"), record.get("state"))
