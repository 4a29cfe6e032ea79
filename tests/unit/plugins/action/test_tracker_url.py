"""The plan and scan_report actions read the Debian Security Tracker export from a URL (a local HTTP server)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.patchpilot.fleet.plugins.plugin_utils.scan_results import read_tracker
from support.servers import HTTPServer

SAMPLE = Path(__file__).parents[2] / "plugins" / "module_utils" / "fixtures" / "security-tracker" / "sample.json"
NOW = datetime(2026, 12, 6, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(name="server")
def fixture_server():
    server = HTTPServer().start()
    yield server
    server.stop()


def test_the_export_is_fetched_from_a_url_once_and_kept(server, tmp_path):
    server.bodies["/tracker/data/json"] = SAMPLE.read_bytes()
    args = {"security_tracker": f"{server.url}/tracker/data/json", "tracker_cache": str(tmp_path / "cache"),
            "tracker_max_age_hours": 24}
    tracker, info = read_tracker(args, NOW)
    assert tracker and info["age_hours"] == 0.0 and not info["stale"]
    assert len(server.received("/tracker/data/json")) == 1
    read_tracker(args, NOW + timedelta(hours=1))
    assert len(server.received("/tracker/data/json")) == 1  # the kept copy
    # the server fails: the copy is used and said to be stale, with its age
    server.statuses["/tracker/data/json"] = 503
    info = read_tracker(args, NOW + timedelta(hours=30))[1]
    assert info["stale"] and info["age_hours"] == 30.0 and "503" in info["problem"]


def test_no_tracker_and_an_unreachable_one(server, tmp_path):
    assert read_tracker({"security_tracker": None}, NOW) == (None, None)
    server.status = 404
    with pytest.raises(AnsibleActionFail, match="cannot fetch the security tracker export"):
        read_tracker({"security_tracker": f"{server.url}/missing", "tracker_cache": str(tmp_path)}, NOW)
