#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the report action (it runs on the controller, plugins/action/report.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: report
short_description: Write the compliance and audit reports from the history store
version_added: 0.3.0
description:
  - Runs on the controller. Reads the history store, verifies its hash chain, and writes the
    reports of the fleet as the store tells it into O(output_dir) (made mode 0700; every file
    0600, written by an atomic move). C(playbooks/report.yml) calls it. See C(docs/reports.md).
  - "C(html): C(report.html), one self-contained page (inline CSS, SVG charts drawn by an inline
    script from embedded JSON, no external asset, a Content-Security-Policy that forbids any
    other source): compliance per group, pending updates by severity, SLA breaches, the trend
    over runs, outdated (end-of-life) machines, exceptions, the lifecycle funnel, the audit
    checklist with this run's evidence (or C(not done) in red), the asset inventory and a
    drill-down per host with every update and its history."
  - "C(json): C(report.json), the same data. C(csv): C(hosts.csv), C(updates.csv), C(runs.csv),
    C(inventory.csv). C(junit): C(junit.xml), one test case per host, failing when the host is
    not compliant or its last run failed, was rolled back, left it unreachable or abandoned it.
    C(openmetrics): C(patchpilot.prom) (gauges, ending with C(# EOF)) for a Prometheus textfile
    collector."
  - Compliance is the share of approved updates that became active (installed, and no service
    still runs the old files) on or before their due date (the policy's SLA).
  - Every string that came from a host, the CMDB or a record is escaped for the format it is
    written in.
  - When the chain is broken the reports are still written (they say where it breaks) and the
    task fails with the id of the first record that does not verify, unless
    O(fail_on_broken_chain=false).
  - In check mode nothing is written or sent; the result says what would be.
options:
  store:
    description:
      - The history store (C(patchpilot_history_store)) - empty for C(<state_dir>/history.sqlite),
        the absolute path of another SQLite file, or a C(postgresql://) URL. Kept out of logs and
        messages.
      - When not given, the variable C(patchpilot_history_store) is read (as M(patchpilot.fleet.history_ingest)
        does), so that the task needs no C(no_log), which would hide its errors too.
    type: str
  state_dir:
    description: The state directory (the state_dirs action's C(state_dir)).
    type: path
    required: true
  output_dir:
    description: Where the reports go; the playbook passes C(<report dir>/history).
    type: path
    required: true
  run:
    description:
      - The run the report is about (C(patchpilot_report_run)) - the records after its last one are
        left out and the audit checklist shows its evidence. Default the latest run.
    type: str
  formats:
    description: The formats to write.
    type: list
    elements: str
    choices: [html, json, csv, junit, openmetrics]
    default: [html, json, csv, junit, openmetrics]
  syslog:
    description:
      - Send the report's events (the summary, each failing host, each overdue update, a broken
        chain) as RFC 5424 messages (facility local0) to a syslog server or SIEM. Optional.
    type: dict
    suboptions:
      host:
        description: The server's name or address.
        type: str
        required: true
      port:
        description: The server's port.
        type: int
        default: 514
      protocol:
        description: UDP, or TCP with octet counting (RFC 6587).
        type: str
        choices: [udp, tcp]
        default: udp
      hostname:
        description: The HOSTNAME field of the messages; default the controller's name.
        type: str
  today:
    description: The day the report is made as of (ISO date), default today. For tests.
    type: str
  fail_on_broken_chain:
    description: Fail the task when the store's hash chain does not verify.
    type: bool
    default: true
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details: Nothing is written or sent.
  diff_mode:
    support: none
  platform:
    platforms: all
author:
  - patchpilot developers (@patchpilot)
"""

EXAMPLES = r"""
- name: Write the reports of the latest run
  patchpilot.fleet.report:
    state_dir: "{{ dirs.state_dir }}"
    output_dir: "{{ dirs.report_dir }}/history"
  register: report

- name: Report one run in HTML and JUnit, and tell the SIEM
  patchpilot.fleet.report:
    state_dir: /var/lib/patchpilot
    output_dir: /var/lib/patchpilot/reports/history
    run: 20261201T020000Z-a1b2c3
    formats: [html, junit]
    syslog:
      host: siem.example.org
      protocol: tcp
      port: 6514
"""

RETURN = r"""
run_id:
  description: The run the report is about (None when the store holds no run).
  returned: success
  type: str
  sample: 20261201T020000Z-a1b2c3
chain:
  description: The chain check - C(ok), C(checked) records, C(broken_at) (a record id), C(reason), C(anchor).
  returned: always
  type: dict
  sample: {"ok": false, "checked": 41, "broken_at": 42, "reason": "record 42 was changed after it was written",
           "anchor": {"after_id": 0, "hash": "000..."}}
summary:
  description: The figures - hosts, runs, approved, compliant, compliance (0..1 or None), overdue, sla_breaches,
    pending, outdated, failing_hosts.
  returned: always
  type: dict
  sample: {"hosts": 4, "runs": 2, "approved": 6, "compliant": 4, "compliance": 0.6667, "overdue": 2,
           "sla_breaches": 3, "pending": 2, "outdated": 1, "failing_hosts": ["app1", "web2"]}
paths:
  description: File name to path of each report written (in check mode, that would be written).
  returned: always
  type: dict
  sample: {"report.html": /var/lib/patchpilot/reports/history/report.html}
output_dir:
  description: The folder of the reports.
  returned: always
  type: str
  sample: /var/lib/patchpilot/reports/history
syslog_sent:
  description: How many syslog messages were sent.
  returned: always
  type: int
  sample: 4
"""
