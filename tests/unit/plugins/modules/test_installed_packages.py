"""installed_packages: the real module run as Ansible runs it, with a fake dpkg-query and rpm on PATH."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

COLLECTIONS = Path(__file__).resolve().parents[4] / ".ansible" / "collections"

FAKE = r'''#!/usr/bin/env python3
import json, os, sys
state = os.environ["FAKE_STATE"]
with open(os.path.join(state, "log"), "a") as log:
    log.write(json.dumps([os.path.basename(sys.argv[0])] + sys.argv[1:]) + "\n")
name = os.path.basename(sys.argv[0])
path = os.path.join(state, name + ".out")
if not os.path.exists(path):
    sys.stderr.write(name + ": database broken\n"); sys.exit(2)
sys.stdout.write(open(path).read())
'''
DPKG = ("openssl\t3.0.15-1~deb12u1\tamd64\tii \npp-old\t0.9-1\tall\trc \npp-broken\t1.1-1\tall\tiF \n")
RPM = "pprpm-seclib\t0:1.0-1\tnoarch\tii \n"


@pytest.fixture(name="host")
def fake_host(tmp_path):
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    bin_dir.mkdir()
    state.mkdir()
    for tool in ("dpkg-query", "rpm"):
        (bin_dir / tool).write_text(FAKE, encoding="utf-8")
        (bin_dir / tool).chmod(0o755)

    def run(args, outputs):
        for tool, text in outputs.items():
            (state / f"{tool}.out").write_text(text, encoding="utf-8")
        args_file = tmp_path / "args.json"
        args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": dict(args, _ansible_check_mode=True)}), encoding="utf-8")
        env = dict(os.environ, PATH=f"{bin_dir}:/usr/bin:/bin", FAKE_STATE=str(state), PYTHONPATH=str(COLLECTIONS))
        proc = subprocess.run([sys.executable, "-m", "ansible_collections.patchpilot.fleet.plugins.modules.installed_packages",
                               str(args_file)], capture_output=True, text=True, env=env, check=False)
        assert proc.stdout.strip(), proc.stderr
        log = [json.loads(line) for line in (state / "log").read_text().splitlines()] if (state / "log").exists() else []
        return json.loads(proc.stdout), log
    return run


def test_dpkg_every_package(host):
    result, log = host({"manager": "apt"}, {"dpkg-query": DPKG})
    assert not result.get("failed") and result["changed"] is False and result["database"] == "dpkg"
    assert log == [["dpkg-query", "-W", "-f", "${Package}\t${Version}\t${Architecture}\t${db:Status-Abbrev}\n"]]
    assert [(p["name"], p["status"]) for p in result["packages"]] == [
        ("openssl", "installed"), ("pp-old", "config-files"), ("pp-broken", "half-configured")]
    assert result["versions"] == {"openssl": "3.0.15-1~deb12u1", "pp-broken": "1.1-1"}
    assert result["config_files"] == {"pp-old": "0.9-1"} and result["unhealthy"] == {"pp-broken": "iF"}


def test_rpm_names_asked_for(host):
    result, log = host({"manager": "dnf", "names": ["pprpm-seclib", "pprpm-none"]}, {"rpm": RPM})
    assert log[0][:3] == ["rpm", "-qa", "--qf"] and result["database"] == "rpm"
    assert [(p["name"], p["version"], p["status"]) for p in result["packages"]] == [
        ("pprpm-seclib", "0:1.0-1", "installed"), ("pprpm-none", None, "absent")]


def test_auto_prefers_dpkg_when_there_is_one(host):
    result, log = host({}, {"dpkg-query": DPKG, "rpm": RPM})
    assert result["database"] == "dpkg" and log[0][0] == "dpkg-query"


def test_a_failing_query_is_one_clear_message(host):
    result, _log = host({"manager": "rpm"}, {})
    assert result["failed"] is True and "failed (rc 2): rpm: database broken" in result["msg"]


def test_output_it_cannot_read_is_one_clear_message(host):
    result, _log = host({"manager": "apt"}, {"dpkg-query": "garbage line\n"})
    assert result["failed"] is True and "is not name<TAB>version<TAB>arch<TAB>status" in result["msg"]
    assert "Traceback" not in json.dumps(result)
