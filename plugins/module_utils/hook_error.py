# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What failed when a hook failed: one line from the failed task's result, for the hooks role.

A command hook runs under ``timeout`` (exit status 124 when it ran out of time); a url hook is
``ansible.builtin.uri``. A call that carries a secret (url_var, token_var) is no_log: its
result says nothing but the HTTP status, and the message must not add what it hid.
"""

from __future__ import annotations

from collections.abc import Mapping

TIMED_OUT = 124


def hook_error(result, timeout=30, expected_status=None, secret=False) -> str:
    """One line naming why the hook failed, from ``ansible_failed_result``."""
    result = result if isinstance(result, Mapping) else {}
    if isinstance(secret, str):  # a templated flag that came through as text
        secret = secret.strip().lower() in ("true", "yes", "1")
    rc = result.get("rc")
    if rc == TIMED_OUT:
        return f"timed out after {timeout} s"
    if rc is not None:
        stderr = str(result.get("stderr") or "").strip()
        return f"exit status {rc}" + (f": {stderr}" if stderr else "")
    status = result.get("status")
    try:
        status = int(status) if status is not None else None
    except (TypeError, ValueError):
        status = None
    if status is not None and status > 0:
        return f"HTTP status {status} (expected {expected_status or 200})"
    if secret and "status" in result:
        return "no answer (details hidden: the call carries a secret)"
    return str(result.get("msg") or "unknown error")
