"""The apt_simulation filter, called the way Ansible calls it: through FilterModule().filters()."""

from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.patchpilot.fleet.plugins.filter.apt_simulation import FilterModule

FIXTURES = Path(__file__).parents[1] / "module_utils" / "fixtures"


@pytest.fixture
def apt_simulation():
    return FilterModule().filters()["apt_simulation"]


def test_filter_is_registered():
    assert set(FilterModule().filters()) == {"apt_simulation"}


def test_parses_stdout(apt_simulation):
    result = apt_simulation((FIXTURES / "trixie-dist-upgrade.txt").read_text(encoding="utf-8"))
    assert result["summary"] == {"upgraded": 6, "newly_installed": 1, "removed": 1, "not_upgraded": 2}
    assert [update["name"] for update in result["upgrades"] if update["security"]] == [
        "libzstd1", "login.defs", "passwd", "pp-ssl", "pp-tool",
    ]
    assert [package["name"] for package in result["new"]] == ["pp-libnew"]
    assert [package["name"] for package in result["removals"]] == ["pp-legacy"]
    assert result["kept_back"] == ["pp-blocked", "pp-held"]


def test_accepts_stdout_lines(apt_simulation):
    text = (FIXTURES / "bookworm-dist-upgrade.txt").read_text(encoding="utf-8")
    assert apt_simulation(text.splitlines()) == apt_simulation(text)


def test_apt_error_becomes_filter_error(apt_simulation):
    text = (FIXTURES / "bookworm-unmet-depends.txt").read_text(encoding="utf-8")
    with pytest.raises(AnsibleFilterError, match=r"^apt-get failed: Unmet dependencies\. .*pp-broken : Depends: pp-nowhere"):
        apt_simulation(text)


def test_not_apt_output_becomes_filter_error(apt_simulation):
    with pytest.raises(AnsibleFilterError, match="not the output of apt-get -s dist-upgrade"):
        apt_simulation("sudo: a password is required")


def test_wrong_type_becomes_filter_error(apt_simulation):
    with pytest.raises(AnsibleFilterError, match="expects the command's stdout"):
        apt_simulation({"stdout": ""})
