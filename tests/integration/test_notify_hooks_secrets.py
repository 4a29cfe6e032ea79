"""Secrets named by the policy never reach the output, at any verbosity.

The notify and hooks roles run for real on the controller (``localhost``, local
connection) against the suite's HTTP and SMTP servers on loopback, at ``-vvvv``.
Each secret is held by the variable the policy names (``url_var``, ``token_var``,
``password_var``), as Ansible Vault or an AWX credential would provide it. The
servers prove the secrets were used; the playbook's whole output, and the
results the roles hand back, must not contain any of them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.servers import http_server, smtp_server  # noqa: F401  # pylint: disable=unused-import

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")
if str(ROOT / ".ansible" / "collections") not in sys.path:  # the checkout's link, as ansible.cfg finds it
    sys.path.insert(0, str(ROOT / ".ansible" / "collections"))
from ansible_collections.patchpilot.fleet.plugins.module_utils.policy import validate_policy  # noqa: E402

pytestmark = pytest.mark.slow

URL_SECRET = "urlpathsecret-6f1d0c"
TOKEN_SECRET = "tokenvalue-93ab7e"
API_KEY_SECRET = "apikeyvalue-1c55d2"
SMTP_SECRET = "smtppassword-0e4f88"
HOOK_TOKEN_SECRET = "hooktoken-b7a2c1"
SECRETS = (URL_SECRET, TOKEN_SECRET, API_KEY_SECRET, SMTP_SECRET, HOOK_TOKEN_SECRET)

PLAY = """\
- name: Notify and run the hooks with secrets from variables
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Send the failure event
      ansible.builtin.include_role:
        name: patchpilot.fleet.notify
      vars:
        notify_event: failure
        notify_subject: "patchpilot: web01 failed"
        notify_body: "pplab-web broke"
        notify_targets: "{{{{ pp_policy.notifications }}}}"
        notify_run_id: run-7

    - name: Run the pre_host hooks
      ansible.builtin.include_role:
        name: patchpilot.fleet.hooks
      vars:
        hooks_phase: pre_host
        hooks_list: "{{{{ pp_policy.hooks.pre_host }}}}"
        hooks_run_id: run-7

    - name: Keep what the roles hand back
      ansible.builtin.copy:
        content: "{{{{ {{'notify': notify_result, 'hooks': hooks_result}} | to_json }}}}"
        dest: "{out}"
        mode: "0600"
"""


def test_secrets_from_variables_are_used_and_never_printed(tmp_path, http_server, smtp_server):
    policy = validate_policy({"version": 2, "reboot": "never", "notifications": [
        {"type": "webhook", "url_var": "chat_url", "events": ["failure"]},
        {"type": "webhook", "target": http_server.url + "/events", "token_var": "events_token", "events": ["failure"]},
        {"type": "webhook", "target": http_server.url + "/keyed", "token_var": "events_key",
         "token_header": "X-Api-Key", "events": ["failure"]},
        {"type": "email", "target": "ops@example.org", "smtp_host": "127.0.0.1", "smtp_port": smtp_server.port,
         "username": "patchpilot", "password_var": "smtp_secret", "secure": "never", "events": ["failure"]},
    ], "hooks": {"pre_host": [
        {"name": "drain", "url": http_server.url + "/drain/{host}", "token_var": "lb_token"},
    ]}})
    variables = {"pp_policy": policy, "chat_url": f"{http_server.url}/hooks/{URL_SECRET}",
                 "events_token": TOKEN_SECRET, "events_key": API_KEY_SECRET, "smtp_secret": SMTP_SECRET,
                 "lb_token": HOOK_TOKEN_SECRET}
    out = tmp_path / "result.json"
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAY.format(out=out), encoding="utf-8")
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n",
                         encoding="utf-8")
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps(variables), encoding="utf-8")
    extra.chmod(0o600)
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "-vvvv", "-i", str(inventory), "-e", f"@{extra}", str(playbook)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
                          env={**_env(), "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")})
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]

    # The secrets were really used: each server saw its own.
    assert [r.method for r in http_server.received(f"/hooks/{URL_SECRET}")] == ["POST"]
    [events] = http_server.received("/events")
    assert events.headers.get("Authorization") == f"Bearer {TOKEN_SECRET}"
    [keyed] = http_server.received("/keyed")
    assert keyed.headers.get("X-Api-Key") == API_KEY_SECRET
    [drain] = http_server.received("/drain/localhost")
    assert drain.headers.get("Authorization") == f"Bearer {HOOK_TOKEN_SECRET}"

    # ... and none of them is in the output at -vvvv, nor in what the roles hand back.
    result = out.read_text(encoding="utf-8")
    for secret in SECRETS:
        assert secret not in output, f"{secret} printed:\n" + "\n".join(
            line for line in output.splitlines() if secret in line)[:3000]
        assert secret not in result, result
    handed = json.loads(result)
    assert "webhook:<chat_url>" in handed["notify"]["sent"], handed
    assert handed["hooks"]["ran"] == ["drain"], handed


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}")
    return env
