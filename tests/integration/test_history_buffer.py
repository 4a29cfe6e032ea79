"""A history store that fails never fails the run: one warning, the records buffered, the next run flushes them.

playbooks are run for real on the controller (``localhost``): history_ingest feeds two run
directories, the first while the store cannot be opened (a SQLite file others may read,
which the store refuses), the second once it can. Nothing is lost: the store ends with every
record of both runs, each once, its chain intact, and the buffer is gone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")
if str(ROOT / ".ansible" / "collections") not in sys.path:
    sys.path.insert(0, str(ROOT / ".ansible" / "collections"))
from ansible_collections.patchpilot.fleet.plugins.module_utils import history_feed  # noqa: E402
from ansible_collections.patchpilot.fleet.plugins.module_utils.history_store import open_store  # noqa: E402
from ansible_collections.patchpilot.fleet.plugins.module_utils.runrecord import RunDir  # noqa: E402

pytestmark = pytest.mark.slow

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
PLAY = """\
- name: Record a run in the history store
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Feed the run
      patchpilot.fleet.history_ingest:
        state_dir: "{state}"
        run_dir: "{run_dir}"
"""


def make_run(base: Path, run_id: str) -> str:
    plan = {"format": 2, "run_id": run_id, "created": T0.isoformat(), "waves": [{"wave": 1, "hosts": ["web01"]}],
            "hosts": [{"host": "web01", "status": "rollout", "wave": 1,
                       "packages": [{"name": "openssl", "version": "3.0-2"}]}]}
    run = RunDir(str(base), run_id)
    run.start(plan, ["web01"], at=T0)
    run.record("web01", "staged", None, at=T0)
    run.record("web01", "patched", {"installed": {"openssl": "3.0-2"}}, at=T0)
    run.record("web01", "verified", {}, at=T0)
    run.record("web01", "done", {"installed": {"openssl": "3.0-2"}}, at=T0)
    run.finish("completed", at=T0)
    return run.path


def play(tmp_path: Path, state: Path, run_dir: str, *extra: str) -> subprocess.CompletedProcess:
    playbook = tmp_path / f"feed-{os.path.basename(run_dir)}.yml"
    playbook.write_text(PLAY.format(state=state, run_dir=run_dir), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}")
    return subprocess.run([ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", str(playbook), *extra], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300, check=False)


def test_a_failing_store_warns_once_buffers_and_the_next_run_flushes(tmp_path):
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    bad = state / "shared.sqlite"
    bad.write_bytes(b"")
    bad.chmod(0o644)  # the store refuses a file others may read
    first, second = make_run(tmp_path / "runs", "run-one"), make_run(tmp_path / "runs", "run-two")

    failed = play(tmp_path, state, first, "-e", f"patchpilot_history_store={bad}")
    output = failed.stdout + failed.stderr
    assert failed.returncode == 0, output[-4000:]
    assert output.count("HISTORY STORE UNAVAILABLE") == 1, output[-4000:]
    assert "readable or writable by others" in output
    buffer = state / history_feed.BUFFER_NAME
    assert buffer.is_file() and (buffer.stat().st_mode & 0o777) == 0o600
    buffered = history_feed.read_buffer(str(buffer))
    assert {r["run_id"] for r in buffered} == {"run-one"} and len(buffered) > 3

    flushed = play(tmp_path, state, second)  # the default store, which works
    assert flushed.returncode == 0 and "HISTORY STORE UNAVAILABLE" not in flushed.stdout, flushed.stdout[-4000:]
    assert not buffer.exists()
    store = open_store(None, str(state))
    try:
        records = store.records()
        assert store.verify()["ok"]
    finally:
        store.close()
    expected = {history_feed._identity(r) for path in (first, second)
                for r in history_feed.run_records(history_feed.read_run(path))
                if r["kind"] != "asset"}
    assert {history_feed._identity(r) for r in records} == expected
    assert len(records) == len(expected)
