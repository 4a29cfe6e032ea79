"""module_utils/health.py health_verdict: a reading after patching against the baseline."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.health import (
    BUILTIN_CHECKS,
    HealthReadingError,
    HealthSettingsError,
    health_settings,
    health_verdict,
)

BASELINE = {
    "services_running": ["cron.service", "pplab-web.service", "ssh.service", "user@0.service"],
    "failed_units": ["old-broken.service"],
    "ports": ["tcp/22", "tcp/8080", "udp/68"],
    "journal_cursor": "s=1",
    "loadavg": [0.5, 0.4, 0.3],
    "nproc": 2,
    "mem_total_kb": 4_000_000,
    "mem_available_kb": 2_000_000,
    "pid1_start": 1000,
    "pid1_started_at": 1767225600.0,
    "boot_id": "boot-a",
    "time": 1767229200.0,
}


def after(**changes):
    now = copy.deepcopy(BASELINE)
    now.update({"journal_errors": 0, "journal_errors_since": "cursor", "journal_errors_sample": [],
                "time": 1767229300.0})
    now.update(changes)
    return now


def verdict(now=None, health_checks=None, overrides=None, **kwargs):
    settings = health_settings(health_checks, {"services_ignore": ["user@*.service"], **(overrides or {})}, BASELINE)
    return health_verdict(now or after(), BASELINE, settings, host="web1", **kwargs)


def test_nothing_changed_passes_every_builtin_check():
    result = verdict()
    assert result["passed"] is True and result["failed_checks"] == []
    assert list(result["checks"]) == list(BUILTIN_CHECKS)
    assert result["checks"]["services"] == {"ok": True, "missing": [], "expected": 3,
                                            "message": "services: all 3 expected services run"}
    assert result["checks"]["journal"]["max"] == 20 and result["checks"]["load"]["limit"] == 6.0
    assert result["checks"]["memory"]["minimum_kb"] == 1_000_000
    assert result["host"] == "web1" and result["baseline_time"] == BASELINE["time"]
    assert result["message"] == "verify passed every check on web1"


def test_a_stopped_service_and_its_port_fail_with_one_message():
    result = verdict(after(services_running=["cron.service", "ssh.service"], ports=["tcp/22", "udp/68"]))
    assert result["failed_checks"] == ["services", "ports"]
    assert result["checks"]["services"]["missing"] == ["pplab-web.service"]
    assert result["checks"]["ports"]["missing"] == ["tcp/8080"]
    assert result["message"] == ("verify failed on web1: services: not running: pplab-web.service"
                                 " | ports: no longer listening: tcp/8080")


def test_an_ignored_service_need_not_run_and_an_extra_one_must():
    result = verdict(after(services_running=["cron.service", "pplab-web.service", "ssh.service"]),
                     health_checks={"services": ["nginx"]})
    assert result["failed_checks"] == ["services"]
    assert result["checks"]["services"]["missing"] == ["nginx.service"]


def test_policy_ports_are_tcp_and_an_override_replaces_them():
    assert verdict(health_checks={"ports": [443]})["checks"]["ports"]["missing"] == ["tcp/443"]
    assert verdict(health_checks={"ports": [443]}, overrides={"ports": ["udp/53"]})["checks"]["ports"]["missing"] \
        == ["udp/53"]


def test_only_newly_failed_units_count_and_patterns_are_ignored():
    now = after(failed_units=["old-broken.service", "pp-x.service", "web.service"])
    result = verdict(now)
    assert result["checks"]["failed_units"]["new"] == ["pp-x.service", "web.service"]
    assert result["failed_checks"] == ["failed_units"]
    assert verdict(now, overrides={"failed_units_ignore": ["pp-*", "web.service"]})["passed"] is True
    off = verdict(now, health_checks={"failed_units": False})["checks"]["failed_units"]
    assert off["ok"] is True and off["skipped"] is True and "not checked" in off["message"]


@pytest.mark.parametrize("errors, limit, ok", [(20, None, True), (21, None, False), (3, 2, False), (500, -1, True)])
def test_journal_errors_against_the_limit(errors, limit, ok):
    result = verdict(after(journal_errors=errors, journal_errors_sample=["unit: boom"]),
                     health_checks={"journal_errors_max": limit})
    journal = result["checks"]["journal"]
    assert journal["ok"] is ok and journal["errors"] == errors
    assert journal["message"].endswith("; last: unit: boom")


def test_after_a_rollback_the_journal_is_not_counted_and_a_reboot_is_expected():
    now = after(journal_errors=999, pid1_start=2000, boot_id="boot-b")
    assert set(verdict(now)["failed_checks"]) == {"journal", "reboot"}
    result = verdict(now, after_rollback=True)
    assert result["passed"] is True
    assert result["checks"]["journal"]["skipped"] is True and result["checks"]["journal"]["max"] == -1
    assert "(not checked after a rollback)" in result["checks"]["journal"]["message"]
    assert result["checks"]["reboot"]["expected"] is True


def test_load_limit_is_the_factor_times_the_larger_of_baseline_and_cpus():
    result = verdict(after(loadavg=[6.5, 1, 1]))
    assert result["failed_checks"] == ["load"]
    assert result["checks"]["load"]["message"] == \
        "load: 1-minute load 6.5 above the limit 6.0 (3.0 x max(baseline 0.5, 2 CPUs))"
    assert verdict(after(loadavg=[6.5, 1, 1]), health_checks={"load_factor": 4})["passed"] is True
    off = verdict(after(loadavg=[99, 1, 1]), overrides={"load_factor": 0})["checks"]["load"]
    assert off["ok"] and off["skipped"] and off["message"] == "load: 1-minute load 99.0 not checked"


def test_memory_minimum_is_the_baseline_divided_by_the_factor():
    result = verdict(after(mem_available_kb=999_999))
    assert result["failed_checks"] == ["memory"]
    assert "below the minimum 977 MiB (baseline 1953 MiB / 2.0)" in result["checks"]["memory"]["message"]
    assert verdict(after(mem_available_kb=999_999), overrides={"memory_factor": 3.0})["passed"] is True
    assert verdict(overrides={"memory_factor": 0.01})["checks"]["memory"]["minimum_kb"] == 200_000_000


def test_an_unexpected_reboot_fails_and_an_expected_one_passes():
    now = after(pid1_start=2000, pid1_started_at=1767229250.0)
    result = verdict(now)
    assert result["failed_checks"] == ["reboot"] and result["rebooted"] is True
    assert result["checks"]["reboot"]["message"] == ("reboot: the host rebooted unexpectedly since the baseline "
                                                     "(PID 1 started 2026-01-01T01:00:50Z, verify_expect_reboot is false)")
    expected = verdict(now, expect_reboot=True)["checks"]["reboot"]
    assert expected["ok"] and expected["message"] == "reboot: rebooted, as expected"
    assert verdict(expect_reboot=True)["checks"]["reboot"]["message"] == \
        "reboot: no reboot since the baseline (a reboot was expected)"
    assert verdict(after(boot_id="boot-b"))["rebooted"] is True


def test_http_and_command_answers_are_checks_of_their_own():
    checks = {"http": [{"url": "http://127.0.0.1:8080/", "name": "web", "status": 200, "timeout": 5}],
              "commands": [{"command": ["test", "-e", "/x"], "name": "marker", "rc": 0},
                           {"command": "systemctl is-active web"}]}
    http = [{"item": {"name": "http:web"}, "msg": "Status code was -1 and not [200]: Connection refused"}]
    commands = [{"item": {"name": "command:marker"}, "rc": 1, "stdout": "", "stderr": ""},
                {"item": {"name": "command:systemctl is-active web"}, "rc": 0, "stdout": "active", "stderr": ""}]
    result = verdict(health_checks=checks, http_results=http, command_results=commands)
    assert result["failed_checks"] == ["http:web", "command:marker"]
    assert result["checks"]["http:web"]["status"] == -1
    assert result["checks"]["http:web"]["message"] == (
        "http:web: GET http://127.0.0.1:8080/ answered nothing, expected 200"
        " (Status code was -1 and not [200]: Connection refused)")
    assert result["checks"]["command:marker"]["message"] == "command:marker: exited 1, expected 0"
    assert result["checks"]["command:systemctl is-active web"]["stdout"] == "active"
    passing = [{"item": {"name": "http:web"}, "status": 200, "msg": "OK"}]
    assert verdict(health_checks={"http": checks["http"]}, http_results=passing)["passed"] is True


def test_a_check_without_an_answer_did_not_run_and_fails():
    result = verdict(health_checks={"commands": [{"command": ["true"]}]}, command_results=[])
    assert result["failed_checks"] == ["command:true"] and result["checks"]["command:true"]["rc"] == -1


def test_long_command_output_is_cut():
    long = [{"item": {"name": "command:x"}, "rc": 3, "stdout": "o" * 5000, "stderr": "e" * 5000}]
    check = verdict(health_checks={"commands": [{"command": "x"}]}, command_results=long)["checks"]["command:x"]
    assert len(check["stdout"]) == 2000 and check["stdout"].endswith("...")
    assert len(check["message"]) < 400


@pytest.mark.parametrize("now, baseline, match", [
    ("text", BASELINE, "reading after patching is not a health_snapshot result"),
    ({"services_running": []}, BASELINE, r"no ports, failed_units"),
    (after(), {}, "baseline is not a health_snapshot result"),
])
def test_a_reading_that_is_not_a_snapshot_is_one_clear_error(now, baseline, match):
    settings = health_settings({}, {}, BASELINE)
    with pytest.raises(HealthReadingError, match=match):
        health_verdict(now, baseline, settings)


def test_settings_without_the_baseline_are_refused():
    with pytest.raises(HealthSettingsError, match="with the baseline"):
        health_verdict(after(), BASELINE, health_settings({}))
