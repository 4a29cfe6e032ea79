"""The hooks and notify roles on real lab hosts, against local servers on loopback.

Hooks: a pre_host hook makes a marker file on the host and calls a URL on the local HTTP
server; a later failure runs their undos (marker removed, undo URL called); a failing hook
fails the host naming the hook. Notify: a real mail through community.general.mail to a local
SMTP server, a webhook's JSON, `wall` reaching a logged-in terminal, and an SMTP server that is
down giving a warning and notify_result.failed, not a failed run.

The hooks and targets go through the policy validator first, as policy_check hands them on.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest

from labkit import ROOT, run_molecule
from support.servers import free_port, http_server, smtp_server  # noqa: F401 (fixtures)

if str(ROOT / ".ansible" / "collections") not in sys.path:  # the checkout's link, as ansible.cfg finds it
    sys.path.insert(0, str(ROOT / ".ansible" / "collections"))
from ansible_collections.patchpilot.fleet.plugins.module_utils.policy import validate_policy  # noqa: E402

pytestmark = pytest.mark.lab

HOST = "web01"
MARKER = "/run/pp-hook-drained-{host}"

HOOKS_PLAY = """\
- name: Patch one host with its hooks around it
  hosts: "{host}"
  gather_facts: false
  tasks:
    - name: Patch, undoing the hooks when it fails
      block:
        - name: Run the pre_host hooks
          ansible.builtin.include_role:
            name: patchpilot.fleet.hooks
          vars:
            hooks_phase: pre_host
            hooks_list: "{{{{ pp_policy.hooks.pre_host }}}}"
            hooks_run_id: run-42

        - name: Look at the marker the hook made
          ansible.builtin.stat:
            path: "{marker}"
          register: marker_during

        - name: Keep what the hooks did
          ansible.builtin.copy:
            content: "{{{{ {{'during': marker_during.stat.exists, 'done': hooks_done, 'result': hooks_result}} | to_json }}}}"
            dest: "{out}/during.json"
            mode: "0644"
          delegate_to: localhost
          become: false

        - name: Fail as a broken patch would
          ansible.builtin.fail:
            msg: simulated patch failure
          when: pp_fail_patch
      rescue:
        - name: Undo the hooks that ran
          ansible.builtin.include_role:
            name: patchpilot.fleet.hooks
          vars:
            hooks_phase: pre_host
            hooks_undo: true
            hooks_run_id: run-42

        - name: Keep the undo's result
          ansible.builtin.copy:
            content: "{{{{ {{'done': hooks_done, 'result': hooks_result, 'failed_task': ansible_failed_task.name}} | to_json }}}}"
            dest: "{out}/undo.json"
            mode: "0644"
          delegate_to: localhost
          become: false

        - name: Fail the host again after cleaning up
          ansible.builtin.fail:
            msg: "patch failed on {{{{ inventory_hostname }}}}: {{{{ ansible_failed_result.msg | default('') }}}}"
"""

NOTIFY_PLAY = """\
- name: Notify
  hosts: "{host}"
  gather_facts: false
  tasks:
    - name: Send the event
      ansible.builtin.include_role:
        name: patchpilot.fleet.notify
      vars:
        notify_event: "{{{{ pp_event }}}}"
        notify_subject: "{{{{ pp_subject }}}}"
        notify_body: "{{{{ pp_body }}}}"
        notify_targets: "{{{{ pp_policy.notifications }}}}"
        notify_run_id: run-42

    - name: Keep the result
      ansible.builtin.copy:
        content: "{{{{ notify_result | to_json }}}}"
        dest: "{out}/{{{{ inventory_hostname }}}}.json"
        mode: "0644"
      delegate_to: localhost
      become: false
"""


def run_play(lab, tmp_path, template, policy, extra=None, check=True):
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    playbook = tmp_path / "play.yml"
    playbook.write_text(template.format(host=HOST, out=out, marker=MARKER.format(host="{{ inventory_hostname }}")),
                        encoding="utf-8")
    variables = {"pp_policy": validate_policy({"version": 2, "reboot": "never", **policy}), **(extra or {})}
    (tmp_path / "vars.json").write_text(json.dumps(variables), encoding="utf-8")
    proc = lab.playbook(str(playbook), "-e", f"@{tmp_path / 'vars.json'}", check=check)
    results = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in out.glob("*.json")}
    return proc, results


def marker_exists(lab) -> bool:
    return lab.ssh(lab.host(HOST), f"sudo test -e {MARKER.format(host=HOST)}", check=False).returncode == 0


def drain_hooks(server, fail_second=False):
    hooks = [
        {"name": "mark the host drained", "command": ["touch", MARKER],
         "undo": {"name": "remove the marker", "command": "rm -f " + MARKER}},
        {"name": "drain from the load balancer", "url": server.url + "/drain/{host}",
         "body": {"host": "{host}", "run": "{run_id}", "reason": "patching"},
         "undo": {"url": server.url + "/enable/{host}", "method": "PUT"}},
    ]
    if fail_second:
        hooks.insert(1, {"name": "check the pool has capacity", "command": ["sh", "-c", "echo pool full >&2; exit 3"]})
    return {"hooks": {"pre_host": hooks}}


def test_pre_host_hooks_run_and_are_undone_when_the_host_fails(lab, tmp_path, http_server):
    lab.ssh(lab.host(HOST), f"sudo rm -f {MARKER.format(host=HOST)}")
    proc, res = run_play(lab, tmp_path, HOOKS_PLAY, drain_hooks(http_server), {"pp_fail_patch": True}, check=False)
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert "patch failed on web01: simulated patch failure" in proc.stdout, proc.stdout[-3000:]
    # The hooks ran: the marker existed on the host, the drain call carried its JSON body.
    assert res["during"]["during"] is True
    assert res["during"]["result"]["ran"] == ["mark the host drained", "drain from the load balancer"]
    [drain] = http_server.received("/drain/web01")
    assert drain.method == "POST"
    assert drain.json() == {"host": "web01", "run": "run-42", "reason": "patching"}
    # The failure undid them, newest first: the host is enabled again and the marker is gone.
    [enable] = http_server.received("/enable/web01")
    assert enable.method == "PUT"
    assert [r.path for r in http_server.requests] == ["/drain/web01", "/enable/web01"]
    assert res["undo"]["result"]["undone"] == ["drain from the load balancer", "mark the host drained"]
    assert res["undo"]["result"]["undo_failed"] == [] and res["undo"]["done"] == []
    assert not marker_exists(lab)


def test_hooks_stay_when_the_host_succeeds(lab, tmp_path, http_server):
    lab.ssh(lab.host(HOST), f"sudo rm -f {MARKER.format(host=HOST)}")
    proc, res = run_play(lab, tmp_path, HOOKS_PLAY, drain_hooks(http_server), {"pp_fail_patch": False})
    assert proc.returncode == 0
    assert "undo" not in res
    assert [r.path for r in http_server.requests] == ["/drain/web01"]
    assert marker_exists(lab)
    lab.ssh(lab.host(HOST), f"sudo rm -f {MARKER.format(host=HOST)}")


def test_a_failing_hook_fails_the_host_naming_it(lab, tmp_path, http_server):
    lab.ssh(lab.host(HOST), f"sudo rm -f {MARKER.format(host=HOST)}")
    proc, res = run_play(lab, tmp_path, HOOKS_PLAY, drain_hooks(http_server, fail_second=True),
                         {"pp_fail_patch": False}, check=False)
    assert proc.returncode != 0
    assert 'hook "check the pool has capacity" (pre_host) failed on web01: exit status 3: pool full' \
        in proc.stdout, proc.stdout[-3000:]
    assert "during" not in res  # nothing after the failed hook ran
    # The hook after it never ran; the one before it was undone.
    assert http_server.requests == []
    assert res["undo"]["result"]["undone"] == ["mark the host drained"]
    assert res["undo"]["failed_task"] == "Fail the host, naming the hook"
    assert not marker_exists(lab)


def test_a_url_hook_with_an_unexpected_status_fails_the_host(lab, tmp_path, http_server):
    http_server.statuses["/drain/web01"] = 503
    lab.ssh(lab.host(HOST), f"sudo rm -f {MARKER.format(host=HOST)}")
    proc, res = run_play(lab, tmp_path, HOOKS_PLAY, drain_hooks(http_server), {"pp_fail_patch": False}, check=False)
    assert proc.returncode != 0
    assert 'hook "drain from the load balancer" (pre_host) failed on web01: HTTP status 503 (expected 200)' \
        in proc.stdout, proc.stdout[-3000:]
    # The drain did not succeed, so it is not undone; the marker hook before it is.
    assert [r.path for r in http_server.requests] == ["/drain/web01"]
    assert res["undo"]["result"]["undone"] == ["mark the host drained"]
    assert not marker_exists(lab)


def test_notify_sends_mail_webhook_and_wall(lab, tmp_path, smtp_server, http_server):
    token = "s3cr3t-token-value"
    policy = {"notifications": [
        {"type": "email", "target": "ops@example.com", "smtp_host": "127.0.0.1", "smtp_port": smtp_server.port,
         "from": "patchpilot@example.com", "events": ["failure", "done"]},
        {"type": "email", "target": "start-only@example.com", "smtp_host": "127.0.0.1",
         "smtp_port": smtp_server.port, "events": ["start"]},
        {"type": "webhook", "target": http_server.url + "/chat", "headers": {"X-Team": "ops"}, "auth": "bearer"},
        {"type": "wall", "events": ["failure"]},
    ]}
    # A logged-in terminal on the host (ssh -tt registers it in utmp): wall must write on it.
    host = lab.host(HOST)
    argv = lab.ssh_argv(host, "sleep 25")
    session = subprocess.Popen(argv[:1] + ["-tt"] + argv[1:],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.PIPE)
    try:
        time.sleep(3)
        proc, res = run_play(lab, tmp_path, NOTIFY_PLAY, policy, {
            "pp_event": "failure", "pp_subject": "patchpilot: web01 failed", "pp_body": "pplab-web 1.1-1 broke",
            "patchpilot_webhook_token": token})
    finally:
        try:
            output, _ = session.communicate(timeout=40)
        except subprocess.TimeoutExpired:
            session.kill()
            output, _ = session.communicate()
    assert proc.returncode == 0
    result = res[HOST]
    assert result["failed"] == []
    assert sorted(result["sent"]) == ["email:ops@example.com", "wall:web01", f"webhook:{http_server.url}/chat"]
    # The mail arrived, to the right recipient only (the start-only target is not for this event).
    [mail] = smtp_server.wait_for(1)
    assert mail.rcpt_tos == ["ops@example.com"]
    assert mail["Subject"] == "patchpilot: web01 failed"
    assert mail["From"] == "patchpilot@example.com"
    assert "pplab-web 1.1-1 broke" in mail.body
    # The webhook got the JSON document, its header and the token from the variable, not the policy.
    [call] = http_server.received("/chat")
    assert call.method == "POST"
    assert call.json() == {"event": "failure", "subject": "patchpilot: web01 failed", "body": "pplab-web 1.1-1 broke",
                           "run_id": "run-42", "hosts": ["web01"]}
    assert call.headers.get("X-Team") == "ops"
    assert call.headers.get("Authorization") == f"Bearer {token}"
    assert token not in proc.stdout and token not in proc.stderr
    # wall wrote on the logged-in terminal.
    text = output.decode(errors="replace")
    assert "patchpilot: web01 failed" in text and "Broadcast message" in text, text


def test_unreachable_smtp_server_is_a_warning_not_a_failure(lab, tmp_path, http_server):
    port = free_port()
    policy = {"notifications": [
        {"type": "email", "target": "ops@example.com", "smtp_host": "127.0.0.1", "smtp_port": port},
        {"type": "webhook", "target": http_server.url + "/chat"},
    ]}
    http_server.statuses["/chat"] = 500
    proc, res = run_play(lab, tmp_path, NOTIFY_PLAY, policy, {
        "pp_event": "done", "pp_subject": "done", "pp_body": "all patched"})
    assert proc.returncode == 0, proc.stdout[-3000:]
    result = res[HOST]
    assert result["sent"] == []
    failed = {item["target"]: item["error"] for item in result["failed"]}
    assert set(failed) == {"email:ops@example.com", f"webhook:{http_server.url}/chat"}
    assert "Connection refused" in failed["email:ops@example.com"]
    assert "Status code was 500" in failed[f"webhook:{http_server.url}/chat"]
    assert "WARNING: 2 notification(s) of done could not be sent (the run goes on)" in proc.stdout
    assert len(http_server.received("/chat")) == 1


def test_molecule_scenario_of_the_hooks_role(lab):
    """The role's own scenario on a fresh container from the lab's image: marker made, then removed by its undo."""
    code, out = run_molecule(ROOT / "roles" / "hooks")
    assert code == 0, f"molecule test failed ({code}):\n{out[-6000:]}"
    assert re.search(r"^\s*default \S+ verify: Executed: Successful\s*$", out, re.MULTILINE), out[-6000:]
    # verify.yml's success message names the scenario's one instance (molecule.yml's platform).
    assert "pp-molecule-hooks-debian12: hook marker removed by its undo" in out, out[-6000:]


def test_molecule_scenario_of_the_notify_role(lab):
    """The role's own scenario: a failure event logged on the controller, wall on the host, a mail server down."""
    code, out = run_molecule(ROOT / "roles" / "notify")
    assert code == 0, f"molecule test failed ({code}):\n{out[-6000:]}"
    assert re.search(r"^\s*default \S+ verify: Executed: Successful\s*$", out, re.MULTILINE), out[-6000:]
    assert "pp-molecule-notify-debian12: failure event logged once" in out, out[-6000:]
