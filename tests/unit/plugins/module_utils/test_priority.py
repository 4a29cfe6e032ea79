"""Prioritisation: effective severity, score, due date, emergencies, policy checks, the fleet's rows."""

import copy
from datetime import date

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils import cmdb
from ansible_collections.patchpilot.fleet.plugins.module_utils.priority import (
    CRITICALITIES,
    DATA_SENSITIVITIES,
    DEFAULT_SEVERITY_BY_CLASSIFICATION,
    DEFAULT_SLA_DAYS,
    DEFAULT_WEIGHTS,
    due_date,
    effective_severity,
    emergency_match,
    prioritise,
    score,
    validate_policy,
)
from ansible_collections.patchpilot.fleet.plugins.module_utils.records import (
    CLASSIFICATIONS,
    SEVERITIES,
    RecordError,
    make_update,
)

D = date.fromisoformat
TODAY = D("2026-11-27")


def update(name="pp-tool", classification="security", severity=None, cves=(), first_seen="2026-11-27",
           effect="upgrade", installed="1.0-1", candidate="1.1-1"):
    if effect == "removal":
        candidate = None
    return make_update(
        name=name, installed_version=installed, candidate_version=candidate, arch="amd64",
        classification=classification, severity=severity, cves=cves, first_seen=first_seen,
        effect=effect, backend="apt",
    ).as_dict()


# The lab's assets (inventories/lab/cmdb.csv) as the CMDB reader gives them.
WEB = {"criticality": "medium", "data_sensitivity": "public", "internet_exposed": True}
DB = {"criticality": "high", "data_sensitivity": "confidential", "internet_exposed": False}
APP = {"criticality": "low", "data_sensitivity": "internal", "internet_exposed": False}
CROWN_JEWEL = {"criticality": "critical", "data_sensitivity": "restricted", "internet_exposed": True}
SCRAP = {"criticality": "low", "data_sensitivity": "public", "internet_exposed": False}


def test_default_weights_span_10_to_100():
    best = sum(max(part.values()) if isinstance(part, dict) else part for part in DEFAULT_WEIGHTS.values())
    worst = sum(min(part.values()) if isinstance(part, dict) else 0 for part in DEFAULT_WEIGHTS.values())
    assert (best, worst) == (100, 10)
    assert set(DEFAULT_WEIGHTS["severity"]) == set(SEVERITIES)
    assert set(DEFAULT_WEIGHTS["classification"]) == set(CLASSIFICATIONS)
    assert set(DEFAULT_SEVERITY_BY_CLASSIFICATION) == set(CLASSIFICATIONS)
    assert DEFAULT_SLA_DAYS == {"critical": 2, "high": 7, "medium": 30, "low": 90}


def test_asset_words_are_the_cmdb_words():
    assert set(CRITICALITIES) == set(cmdb.CRITICALITIES)
    assert set(DATA_SENSITIVITIES) == set(cmdb.DATA_SENSITIVITIES)


# ---------------------------------------------------------------------------
# Effective severity
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("record, mapping, expected", [
    (update(severity="critical"), None, "critical"),
    (update(severity="low", classification="security"), None, "low"),     # the vendor's word wins
    (update(classification="security"), None, "high"),                    # apt: from the classification
    (update(classification="third_party"), None, "medium"),
    (update(classification="bugfix"), None, "low"),
    (update(classification="enhancement"), None, "low"),
    (update(classification="other"), None, "low"),
    ({**update(), "severity": "Important"}, None, "high"),                # a vendor word not yet normalised
    (update(classification="security"), {**DEFAULT_SEVERITY_BY_CLASSIFICATION, "security": "critical"}, "critical"),
])
def test_effective_severity(record, mapping, expected):
    assert effective_severity(record, mapping) == expected


def test_effective_severity_needs_a_known_classification():
    with pytest.raises(RecordError, match="classification: 'patch' is not one of"):
        effective_severity({"name": "x", "severity": None, "classification": "patch"})


# ---------------------------------------------------------------------------
# Score
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("record, asset, expected", [
    (update(severity="critical"), CROWN_JEWEL, 100.0),                    # 40 + 10 + 20 + 15 + 15
    (update(severity="low", classification="other"), SCRAP, 10.0),       # 10 + 0 + 0 + 0 + 0
    (update(), WEB, 63.0),                                                # high 30 + 10 + 8 + 15 + 0
    (update(classification="bugfix"), DB, 37.0),                         # low 10 + 2 + 15 + 0 + 10
    (update(classification="third_party"), APP, 30.0),                   # medium 20 + 5 + 0 + 0 + 5
    (update(severity="medium", classification="enhancement"), {}, 33.0),  # defaults: 20 + 0 + 8 + 0 + 5
    (update(severity="medium", classification="enhancement"), None, 33.0),
    (update(), {"patchpilot_asset": CROWN_JEWEL, "ansible_host": "10.0.0.1"}, 90.0),  # host vars
    (update(), {"criticality": " High ", "internet_exposed": "YES", "data_sensitivity": "Restricted"}, 85.0),
    (update(), {"criticality": "", "internet_exposed": "no", "data_sensitivity": None}, 53.0),
])
def test_score(record, asset, expected):
    assert score(record, asset) == expected


def test_score_with_policy_weights():
    weights = validate_policy({"weights": {"severity": {"critical": 60}, "internet_exposed": 2.5}})["weights"]
    assert score(update(severity="critical"), CROWN_JEWEL, weights) == 100.0   # 122.5, clamped
    assert score(update(), WEB, weights) == 50.5                               # 30 + 10 + 8 + 2.5 + 0
    zero = validate_policy({"weights": {part: {k: 0 for k in levels} for part, levels in (
        ("severity", SEVERITIES), ("classification", CLASSIFICATIONS),
        ("criticality", CRITICALITIES), ("data_sensitivity", DATA_SENSITIVITIES))}})["weights"]
    assert score(update(severity="critical"), SCRAP, zero) == 0.0


def test_score_overridden_severity():
    assert score(update(classification="bugfix"), WEB, severity="critical") == 65.0  # 40 + 2 + 8 + 15 + 0
    with pytest.raises(ValueError, match="severity: 'urgent' is not one of"):
        score(update(), WEB, severity="urgent")


@pytest.mark.parametrize("asset, message", [
    ({"criticality": "urgent"}, r"asset \?: criticality: 'urgent' is not one of critical, high, medium, low"),
    ({"data_sensitivity": "secret"}, r"data_sensitivity: 'secret' is not one of restricted"),
    ({"internet_exposed": "maybe"}, r"internet_exposed: expected yes or no, got 'maybe'"),
    (["web"], r"asset \?: expected a mapping"),
])
def test_bad_assets(asset, message):
    with pytest.raises(ValueError, match=message):
        score(update(), asset)


# ---------------------------------------------------------------------------
# Due date
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("start, severity, sla_days, expected", [
    ("2026-11-27", "critical", None, "2026-11-29"),
    ("2026-11-27", "high", None, "2026-12-04"),
    ("2026-11-27", "medium", None, "2026-12-27"),
    ("2026-11-27", "low", None, "2027-02-25"),
    (D("2028-02-01"), "medium", None, "2028-03-02"),                  # 2028 is a leap year
    ("2026-11-27", "critical", {**DEFAULT_SLA_DAYS, "critical": 0}, "2026-11-27"),
    ("2026-11-27", "high", {**DEFAULT_SLA_DAYS, "high": 14}, "2026-12-11"),
])
def test_due_date(start, severity, sla_days, expected):
    assert due_date(start, severity, sla_days) == D(expected)


def test_due_date_errors():
    with pytest.raises(ValueError, match="severity: 'urgent' is not one of"):
        due_date(TODAY, "urgent")
    with pytest.raises(ValueError, match="start: expected a date or an ISO date"):
        due_date("next week", "high")


# ---------------------------------------------------------------------------
# Emergencies
# ---------------------------------------------------------------------------

EMERGENCY = {"cves": ["CVE-2026-1234", "cve-2026-7777"], "packages": ["libssl*", "openssl"]}


@pytest.mark.parametrize("record, reasons", [
    (update(name="pp-tool", cves=["CVE-2026-1234", "CVE-2026-9999"]), ["CVE-2026-1234 is on the emergency CVE list"]),
    (update(name="pp-tool", cves=["CVE-2026-7777"]), ["CVE-2026-7777 is on the emergency CVE list"]),
    (update(name="libssl3"), ["package libssl3 matches emergency pattern 'libssl*'"]),
    (update(name="openssl", cves=["CVE-2026-1234"]),
     ["CVE-2026-1234 is on the emergency CVE list", "package openssl matches emergency pattern 'openssl'"]),
    (update(name="openssl-provider-legacy"), []),                     # patterns match the whole name
    ({**update(), "name": "LibSSL3"}, []),                            # and are case-sensitive
    (update(name="pp-tool", cves=["CVE-2026-9999"]), []),
])
def test_emergency_match(record, reasons):
    assert emergency_match(record, EMERGENCY) == reasons


def test_no_emergency_list():
    assert emergency_match(update(name="openssl"), None) == []
    assert emergency_match(update(name="openssl"), {}) == []


# ---------------------------------------------------------------------------
# Policy
# ---------------------------------------------------------------------------

def test_policy_defaults():
    assert validate_policy(None) == validate_policy({}) == {
        "sla_days": DEFAULT_SLA_DAYS,
        "severity_by_classification": DEFAULT_SEVERITY_BY_CLASSIFICATION,
        "emergency": {"cves": [], "packages": []},
        "weights": DEFAULT_WEIGHTS,
    }


def test_policy_overrides_merge_with_defaults():
    before = copy.deepcopy(DEFAULT_WEIGHTS)
    settings = validate_policy({
        "sla_days": {"high": "10", "low": 60},
        "severity_by_classification": {"bugfix": "medium"},
        "emergency": {"cves": ["cve-2026-1234", "CVE-2026-1234"], "packages": [" openssl "]},
        "weights": {"criticality": {"low": 3}},
    })
    assert settings["sla_days"] == {"critical": 2, "high": 10, "medium": 30, "low": 60}
    assert settings["severity_by_classification"]["bugfix"] == "medium"
    assert settings["severity_by_classification"]["security"] == "high"
    assert settings["emergency"] == {"cves": ["CVE-2026-1234"], "packages": ["openssl"]}
    assert settings["weights"]["criticality"] == {"critical": 20, "high": 15, "medium": 8, "low": 3}
    assert DEFAULT_WEIGHTS == before, "the defaults were changed in place"


@pytest.mark.parametrize("policy, message", [
    ("fast", r"^policy: expected a mapping"),
    ({"slas": {}}, r"^policy\.slas: unknown key \(known: sla_days, severity_by_classification, emergency, weights\)"),
    ({"sla_days": [2, 7]}, r"^policy\.sla_days: expected a mapping"),
    ({"sla_days": {"urgent": 1}}, r"^policy\.sla_days\.urgent: unknown key"),
    ({"sla_days": {"high": -1}}, r"^policy\.sla_days\.high: expected a whole number of days from 0 to 3650, got -1"),
    ({"sla_days": {"high": 1.5}}, r"^policy\.sla_days\.high: expected a whole number of days"),
    ({"sla_days": {"high": True}}, r"^policy\.sla_days\.high: expected a whole number of days"),
    ({"sla_days": {"critical": "soon"}}, r"^policy\.sla_days\.critical: expected a whole number of days"),
    ({"sla_days": {"low": None}}, r"^policy\.sla_days\.low: expected a whole number of days"),
    ({"severity_by_classification": {"security": "urgent"}},
     r"^policy\.severity_by_classification\.security: 'urgent' is not one of critical, high, medium, low"),
    ({"severity_by_classification": {"patch": "high"}}, r"^policy\.severity_by_classification\.patch: unknown key"),
    ({"emergency": {"cve": []}}, r"^policy\.emergency\.cve: unknown key"),
    ({"emergency": {"cves": "CVE-2026-1234"}}, r"^policy\.emergency\.cves: expected a list of CVE ids"),
    ({"emergency": {"cves": ["CVE-26-1"]}}, r"^policy\.emergency\.cves: 'CVE-26-1' is not a CVE id"),
    ({"emergency": {"packages": "openssl"}}, r"^policy\.emergency\.packages: expected a list of package name patterns"),
    ({"emergency": {"packages": ["openssl", ""]}}, r"^policy\.emergency\.packages: expected a list"),
    ({"weights": {"exposure": 3}}, r"^policy\.weights\.exposure: unknown key"),
    ({"weights": {"severity": {"critical": -5}}}, r"^policy\.weights\.severity\.critical: expected a number from 0 to 1000"),
    ({"weights": {"criticality": {"extreme": 30}}}, r"^policy\.weights\.criticality\.extreme: unknown key"),
    ({"weights": {"internet_exposed": "lots"}}, r"^policy\.weights\.internet_exposed: expected a number"),
])
def test_bad_policies_name_the_key(policy, message):
    with pytest.raises(ValueError, match=message):
        validate_policy(policy)


# ---------------------------------------------------------------------------
# The fleet
# ---------------------------------------------------------------------------

POLICY = {"sla_days": {"high": 5}, "emergency": {"cves": ["CVE-2026-1234"], "packages": ["openssl"]}}

WINDOWS_KB = {
    **update(name="KB5050001", severity="critical", first_seen="2026-11-26"),
    "installed_version": None, "candidate_version": "2026-11 Cumulative Update", "arch": None, "backend": "windows",
}

HOST_RECORDS = {
    "web01": [
        update(name="libssl3", cves=["CVE-2026-1234"], first_seen="2026-11-20"),
        update(name="pplab-web", classification="bugfix", first_seen="2026-11-01"),
    ],
    "db01": [
        update(name="pplab-seclib", first_seen="2026-11-01"),
        update(name="pplab-monitor-compat", classification="other", effect="removal", first_seen=None),
    ],
    "app01": [
        update(name="openssl"),
        update(name="pplab-legacy", classification="third_party", effect="kept_back", first_seen="2026-12-01"),
    ],
    "ghost": [WINDOWS_KB],   # not in the CMDB: default asset
}
ASSETS = {"web01": WEB, "db01": {"patchpilot_asset": DB}, "app01": APP}

# host, name, effective severity, score, due, overdue, emergency reasons
EXPECTED = [
    # Emergencies first, by score: critical 40 + security 10 + the asset.
    ("web01", "libssl3", "critical", 73.0, "2026-11-27", False, ["CVE-2026-1234 is on the emergency CVE list"]),
    ("app01", "openssl", "critical", 55.0, "2026-11-27", False, ["package openssl matches emergency pattern 'openssl'"]),
    # high 30 + 10 + 15 + 0 + 10; the policy's 5 high days from 2026-11-01: overdue.
    ("db01", "pplab-seclib", "high", 65.0, "2026-11-06", True, []),
    # The record's own critical: 40 + 10 + default asset 8 + 0 + 5; 2 days from 2026-11-26.
    ("ghost", "KB5050001", "critical", 63.0, "2026-11-28", False, []),
    # Both 35: the earlier due date first, whatever the host name.
    ("web01", "pplab-web", "low", 35.0, "2027-01-30", False, []),
    ("db01", "pplab-monitor-compat", "low", 35.0, "2027-02-25", False, []),   # no first_seen: the scan date
    # medium 20 + 5 + 0 + 0 + 5; first_seen after the scan date counts as the scan date.
    ("app01", "pplab-legacy", "medium", 30.0, "2026-12-27", False, []),
]


def test_prioritise_the_fleet():
    rows = prioritise(HOST_RECORDS, ASSETS, POLICY, TODAY)
    assert [(r["host"], r["name"], r["effective_severity"], r["score"], r["due"], r["overdue"],
             r["emergency_reasons"]) for r in rows] == EXPECTED
    assert [r["emergency"] for r in rows] == [True, True, False, False, False, False, False]


def test_rows_carry_every_record_field():
    rows = prioritise(HOST_RECORDS, ASSETS, POLICY, "2026-11-27")
    for row in rows:
        record = next(r for r in HOST_RECORDS[row["host"]] if r["name"] == row["name"])
        assert {k: row[k] for k in record} == record
        assert set(row) == set(record) | {"host", "effective_severity", "score", "due", "overdue",
                                          "emergency", "emergency_reasons"}
    # Removals and kept back packages are there; their effect says what they are.
    assert {r["name"]: r["effect"] for r in rows if r["effect"] != "upgrade"} == {
        "pplab-monitor-compat": "removal", "pplab-legacy": "kept_back"}


def test_prioritise_does_not_change_its_input():
    before = copy.deepcopy(HOST_RECORDS)
    prioritise(HOST_RECORDS, ASSETS, POLICY, TODAY)
    assert HOST_RECORDS == before


def test_ties_fall_back_to_host_then_name():
    records = [update(name="b"), update(name="a")]
    rows = prioritise({"web02": records, "web01": list(records)}, {"web01": WEB, "web02": WEB}, None, TODAY)
    assert [(r["host"], r["name"]) for r in rows] == [("web01", "a"), ("web01", "b"), ("web02", "a"), ("web02", "b")]


def test_empty_fleet():
    assert not prioritise({}, {}, {}, TODAY)
    assert not prioritise({"web01": [], "db01": None}, None, None, TODAY)


@pytest.mark.parametrize("host_records, assets, policy, today, message", [
    ({}, {}, {"sla_days": {"high": -1}}, TODAY, r"^policy\.sla_days\.high: expected a whole number"),
    ([], {}, None, TODAY, r"^host_records: expected a mapping"),
    ({}, ["web01"], None, TODAY, r"^assets: expected a mapping"),
    ({}, {}, None, "tomorrow", r"^today: expected a date or an ISO date"),
    ({"web01": "libssl3"}, {}, None, TODAY, r"^host web01: expected a list of update records"),
    ({"web01": [{"version": "1"}]}, {}, None, TODAY, r"^host web01: update 0: expected an update record with a name"),
    ({"web01": [{**update(), "classification": "patch"}]}, {}, None, TODAY,
     r"^host web01: update pp-tool: classification: 'patch' is not one of"),
    ({"web01": [update(first_seen=None) | {"first_seen": "last week"}]}, {}, None, TODAY,
     r"^host web01: update pp-tool: first_seen: expected a date or an ISO date"),
    ({"web01": [update()]}, {"web01": {"criticality": "urgent"}}, None, TODAY,
     r"^asset web01: criticality: 'urgent' is not one of"),
])
def test_prioritise_errors_name_what_is_wrong(host_records, assets, policy, today, message):
    with pytest.raises(ValueError, match=message):
        prioritise(host_records, assets, policy, today)
