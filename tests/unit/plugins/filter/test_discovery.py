"""The discovery filters, called the way Ansible calls them: through FilterModule().filters()."""

import inspect
import json
import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.patchpilot.fleet.plugins.filter import discovery
from ansible_collections.patchpilot.fleet.plugins.filter.discovery import FilterModule
from ansible_collections.patchpilot.fleet.plugins.module_utils.records import make_update

FILTER_DIR = Path(discovery.__file__).parent
SAMPLE = Path(__file__).parents[1] / "module_utils" / "fixtures" / "security-tracker" / "sample.json"
NAMES = {"prioritise", "eol_status", "security_tracker_enrich"}


@pytest.fixture(name="filters")
def fixture_filters():
    return FilterModule().filters()


def apt(name, installed="3.0.19-1~deb12u2", candidate="3.0.22-1~deb12u2", **extra):
    fields = {"classification": "security", "first_seen": "2026-11-27", **extra}
    return make_update(name=name, installed_version=installed, candidate_version=candidate, backend="apt",
                       **fields).as_dict()


def test_filters_are_registered(filters):
    assert set(filters) == NAMES


@pytest.mark.parametrize("name", sorted(NAMES))
def test_each_filter_is_documented_beside_the_code(filters, name):
    """Sidecar docs (what ansible-doc -t filter reads): name, options matching the
    function's parameters, examples that use the filter, and a return value."""
    doc = yaml.safe_load((FILTER_DIR / f"{name}.yml").read_text(encoding="utf-8"))
    assert doc["DOCUMENTATION"]["name"] == name
    parameters = list(inspect.signature(filters[name]).parameters)
    assert list(doc["DOCUMENTATION"]["options"]) == ["_input", *parameters[1:]]
    assert f"patchpilot.fleet.{name}" in doc["EXAMPLES"]
    yaml.safe_load(doc["EXAMPLES"])
    assert doc["RETURN"]["_value"]["description"]


# ---------------------------------------------------------------------------
# prioritise
# ---------------------------------------------------------------------------

def test_prioritise(filters):
    rows = filters["prioritise"](
        {"web01": [apt("libssl3", cves=["CVE-2026-1234"]), apt("pp-tool")]},
        {"web01": {"patchpilot_asset": {"criticality": "medium", "data_sensitivity": "public",
                                        "internet_exposed": True}}},
        {"emergency": {"cves": ["CVE-2026-1234"]}},
        "2026-11-27",
    )
    assert [(r["name"], r["score"], r["due"], r["emergency"]) for r in rows] == [
        ("libssl3", 73.0, "2026-11-27", True),
        ("pp-tool", 63.0, "2026-12-04", False),
    ]
    json.dumps(rows)  # plain data, ready for Ansible


def test_prioritise_defaults_to_the_controllers_date(filters):
    [row] = filters["prioritise"]({"web01": [apt("pp-tool", first_seen=None)]})
    assert row["due"] == date.fromordinal(date.today().toordinal() + 7).isoformat()


@pytest.mark.parametrize("args, message", [
    (({}, {}, {"sla_days": {"high": "soon"}}), r"^prioritise: policy\.sla_days\.high: expected a whole number"),
    (({"web01": [{"name": "x", "classification": "patch"}]}, {}, {}),
     r"^prioritise: host web01: update x: classification: 'patch'"),
    (({}, {}, {}, "27/11/2026"), r"^prioritise: today: expected a date"),
])
def test_prioritise_errors(filters, args, message):
    with pytest.raises(AnsibleFilterError, match=message):
        filters["prioritise"](*args)


# ---------------------------------------------------------------------------
# eol_status
# ---------------------------------------------------------------------------

def test_eol_status_gives_iso_dates(filters):
    assert filters["eol_status"]("Debian", "12.8", "2026-11-27") == {
        "status": "extended",
        "regular_end": "2026-07-11",
        "extended_end": "2028-06-30",
        "release": "Debian 12 (bookworm)",
        "extended_name": "Debian LTS",
        "source": "https://wiki.debian.org/LTS",
        "message": "Debian 12 (bookworm) is past regular support (ended 2026-07-11): Debian LTS only, until 2028-06-30",
    }


def test_eol_status_from_ansible_facts(filters):
    facts = {"distribution": "Debian", "distribution_version": "11.11", "distribution_release": "bullseye"}
    result = filters["eol_status"](facts, today="2026-11-27")
    assert (result["status"], result["extended_end"]) == ("outdated", "2026-08-31")
    prefixed = {"ansible_distribution": "MacOSX", "ansible_distribution_version": "14.6"}
    assert filters["eol_status"](prefixed, today="2026-11-27")["status"] == "extended"


def test_eol_status_unknown(filters):
    result = filters["eol_status"]("Fedora", "40", "2026-11-27")
    assert (result["status"], result["regular_end"], result["extended_end"]) == ("unknown", None, None)


def test_eol_status_default_date(filters):
    assert filters["eol_status"]("Debian", "10")["status"] == "outdated"


def test_eol_status_bad_date(filters):
    with pytest.raises(AnsibleFilterError, match=r"^eol_status: today: expected a date"):
        filters["eol_status"]("Debian", "12", "yesterday")


# ---------------------------------------------------------------------------
# security_tracker_enrich
# ---------------------------------------------------------------------------

def test_enrich_from_parsed_export(filters):
    tracker = json.loads(SAMPLE.read_text(encoding="utf-8"))
    [record] = filters["security_tracker_enrich"]([apt("libppssl3")], tracker, "bookworm", {"libppssl3": "pp-ssl"})
    assert (record["cves"], record["severity"]) == (["CVE-2026-90001", "CVE-2026-90002"], "high")


def test_enrich_from_a_path_reads_once_per_file_version(filters, tmp_path, monkeypatch):
    path = tmp_path / "tracker.json"
    shutil.copy(SAMPLE, path)
    reads = []
    real_load = discovery.load_tracker
    monkeypatch.setattr(discovery, "load_tracker", lambda p: reads.append(p) or real_load(p))
    monkeypatch.setattr(discovery, "_TRACKER_CACHE", {})
    for _attempt in range(3):
        [record] = filters["security_tracker_enrich"]([apt("pp-ssl")], str(path), "bookworm")
        assert record["cves"] == ["CVE-2026-90001", "CVE-2026-90002"]
    assert len(reads) == 1
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["pp-ssl"]["CVE-2026-90002"]
    path.write_text(json.dumps(data), encoding="utf-8")
    [record] = filters["security_tracker_enrich"]([apt("pp-ssl")], str(path), "bookworm")
    assert record["cves"] == ["CVE-2026-90001"]
    assert len(reads) == 2


@pytest.mark.parametrize("content, message", [
    (None, r"nowhere\.json: cannot read the security tracker export"),
    ("<html>rate limited</html>", r"tracker\.json: not a JSON file: Expecting value at line 1 column 1"),
    ("[1, 2]", r"tracker\.json: expected a JSON object of source packages"),
])
def test_enrich_bad_files(filters, tmp_path, content, message):
    path = tmp_path / ("nowhere.json" if content is None else "tracker.json")
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(AnsibleFilterError, match=rf"^security_tracker_enrich: {tmp_path}/{message}"):
        filters["security_tracker_enrich"]([apt("pp-ssl")], str(path), "bookworm")


def test_enrich_bad_codename(filters):
    with pytest.raises(AnsibleFilterError, match=r"^security_tracker_enrich: codename: expected a Debian release codename"):
        filters["security_tracker_enrich"]([apt("pp-ssl")], {}, "stable-security")
