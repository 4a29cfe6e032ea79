"""The health filters: module_utils/health.py's answers, bad input as one AnsibleFilterError."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.patchpilot.fleet.plugins.filter.health import FilterModule
from ansible_collections.patchpilot.fleet.plugins.module_utils import health

FILTERS = FilterModule().filters()
BASELINE = {"services_running": ["a.service"], "ports": ["tcp/22"], "failed_units": [], "loadavg": [0.1, 0, 0],
            "nproc": 1, "mem_available_kb": 1000, "pid1_start": 5, "boot_id": "b", "time": 1.0}


def test_the_filters_are_the_functions():
    settings = FILTERS["health_settings"]({"load_factor": 4.0}, {"ports": [80]}, BASELINE)
    assert settings == health.health_settings({"load_factor": 4.0}, {"ports": [80]}, BASELINE)
    after = {**BASELINE, "ports": ["tcp/22", "tcp/80"]}
    answer = FILTERS["health_verdict"](after, BASELINE, settings, host="h1")
    assert answer == health.health_verdict(after, BASELINE, settings, host="h1")
    assert answer["passed"] is True


def test_bad_settings_name_the_variable():
    with pytest.raises(AnsibleFilterError, match="verify_ports: http is not a port"):
        FILTERS["health_settings"]({}, {"ports": ["http"]})


def test_a_bad_reading_is_one_error():
    settings = FILTERS["health_settings"]({}, {}, BASELINE)
    with pytest.raises(AnsibleFilterError, match="verify: the reading after patching is not a health_snapshot"):
        FILTERS["health_verdict"]("nothing", BASELINE, settings)
