# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Callback plugin: feed the runs a playbook touched to the history store, even when it died early."""

from __future__ import annotations

DOCUMENTATION = r"""
name: history
type: notification
short_description: Record the patch runs a playbook touched in the history store
version_added: 0.3.0
description:
  - Notes every host that was unreachable, with the time, and at the end of the playbook feeds
    every run directory the playbook touched (the C(run_dir) of the results of the
    C(patchpilot.fleet.run_*) tasks) to the history store, with those hosts marked
    C(unreachable) when they did not finish. A run that died before its Summary play (where
    M(patchpilot.fleet.history_ingest) records it) is recorded all the same.
  - Feeding is idempotent, so a run recorded by its Summary play adds nothing here.
  - The state directory is the one the C(patchpilot.fleet.state_dirs) task found; the store is
    the O(store) option, else the extra var C(patchpilot_history_store), else the embedded
    SQLite file of the state directory. A store that cannot be reached buffers the records
    (C(<state>/history-buffer.jsonl)) with one warning starting C(HISTORY STORE UNAVAILABLE).
  - It never fails the playbook; a problem is one warning. With C(--check) it records nothing.
  - It needs enabling, for example C(callbacks_enabled = patchpilot.fleet.history) in
    C(ansible.cfg) or C(ANSIBLE_CALLBACKS_ENABLED=patchpilot.fleet.history).
requirements:
  - enable in configuration
options:
  store:
    description:
      - The store (a SQLite file's absolute path or a C(postgresql://) URL); a secret, never printed.
      - Empty for the extra var C(patchpilot_history_store), else C(<state dir>/history.sqlite).
    type: str
    default: ''
    env:
      - name: PATCHPILOT_HISTORY_STORE
    ini:
      - section: callback_history
        key: store
"""

import os
from datetime import datetime, timezone

from ansible.plugins.callback import CallbackBase

from ansible_collections.patchpilot.fleet.plugins.module_utils.history_feed import redacted
from ansible_collections.patchpilot.fleet.plugins.plugin_utils import history

#: The actions whose results name a run directory (run_dir) or the state directory (state_dir).
RUN_ACTION_PREFIX = "patchpilot.fleet.run_"
STATE_DIRS_ACTION = "patchpilot.fleet.state_dirs"


def _action(task) -> str:
    name = str(getattr(task, "resolved_action", None) or getattr(task, "action", "") or "")
    return name if "." in name else f"patchpilot.fleet.{name}" if name.startswith(("run_", "state_dirs")) else name


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "patchpilot.fleet.history"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.unreachable = {}
        self.run_dirs = []
        self.state_dir = None
        self.playbook = None
        self.extra_vars = {}
        self.fed = []

    # -- what the playbook does ---------------------------------------------

    def v2_playbook_on_start(self, playbook):
        try:
            self.playbook = os.path.abspath(playbook._file_name)
        except Exception:  # pylint: disable=broad-except  # never fail the playbook
            self.playbook = None

    def v2_playbook_on_play_start(self, play):
        try:
            self.extra_vars = dict(play.get_variable_manager().extra_vars or {})
        except Exception:  # pylint: disable=broad-except
            pass

    def v2_runner_on_unreachable(self, result):
        try:
            host = result._host.get_name()
            self.unreachable.setdefault(host, datetime.now(timezone.utc).isoformat())
        except Exception:  # pylint: disable=broad-except
            pass

    def v2_runner_on_ok(self, result):
        try:
            self.note_result(_action(result._task), result._result)
        except Exception:  # pylint: disable=broad-except
            pass

    def note_result(self, action: str, answer: dict) -> None:
        """Keep the run directory (or state directory) a task's answer names."""
        if not isinstance(answer, dict):
            return
        if action == STATE_DIRS_ACTION and answer.get("state_dir"):
            self.state_dir = str(answer["state_dir"])
        elif action.startswith(RUN_ACTION_PREFIX) and answer.get("run_dir"):
            path = str(answer["run_dir"])
            if path not in self.run_dirs:
                self.run_dirs.append(path)

    # -- at the end -----------------------------------------------------------

    def _store(self):
        try:
            spec = self.get_option("store")
        except Exception:  # pylint: disable=broad-except  # options not loaded (a test's bare instance)
            spec = None
        return spec or str(self.extra_vars.get("patchpilot_history_store") or "")

    def v2_playbook_on_stats(self, stats):
        try:
            self.feed_all()
        except Exception as exc:  # pylint: disable=broad-except  # the callback never raises
            self._display.warning(f"patchpilot.fleet.history: runs not recorded: {type(exc).__name__}")

    @staticmethod
    def check_mode() -> bool:
        """Whether the playbook runs with --check (then nothing is recorded)."""
        from ansible import context  # pylint: disable=import-outside-toplevel

        return bool((context.CLIARGS or {}).get("check"))

    def feed_all(self) -> list:
        """Feed every run directory noted; the feeds' answers (also kept in ``fed``)."""
        if not self.run_dirs or self.check_mode():
            return []
        state_dir = self.state_dir or os.path.dirname(os.path.dirname(os.path.abspath(self.run_dirs[0])))
        spec = self._store()
        ctx = history.context(dict(self.extra_vars, ansible_inventory_sources=None), self.playbook)
        ctx["unreachable"] = dict(self.unreachable)
        for run_dir in self.run_dirs:
            try:
                result = history.feed_run(run_dir, spec, state_dir, ctx)
            except Exception as exc:  # pylint: disable=broad-except  # one run's problem, said once
                self._display.warning(f"patchpilot.fleet.history: {run_dir} not recorded: {redacted(str(exc), spec)}")
                continue
            message = history.warning(result)
            if message:
                self._display.warning(message)
            self.fed.append(dict(result, run_dir=run_dir))
        return self.fed
