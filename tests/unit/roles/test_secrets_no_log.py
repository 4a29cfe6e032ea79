"""Issue #10 item 6: every role task that reads a secret (a variable a notification target or a url hook
names, or the role's own password/token variable) is no_log; no debug or fail message shows one."""

from pathlib import Path

import pytest
import yaml

ROLES = Path(__file__).resolve().parents[3] / "roles"
#: What marks a task as touching a secret: reading a named variable, or the roles' secret variables.
SECRET_MARKS = ("ansible.builtin.vars", "notify_smtp_password", "notify_webhook_token", "__notify_password",
                "__notify_token", "__notify_auth", "__hooks_token", "__hooks_auth", "__hooks_url")
#: Keys of a task that the task's own output never shows.
QUIET_KEYS = ("name", "when", "loop_control", "no_log", "register", "delegate_to", "become", "run_once",
              "ignore_errors", "changed_when", "failed_when", "check_mode")


def tasks_of(path: Path):
    """Every task of a task file, blocks and rescues included."""
    def walk(items):
        for task in items or ():
            yield task
            for key in ("block", "rescue", "always"):
                yield from walk(task.get(key))
    yield from walk(yaml.safe_load(path.read_text(encoding="utf-8")))


def shown(task: dict) -> str:
    """The task's module arguments and loop, with its vars resolved by name: what its result can carry."""
    text = yaml.safe_dump({key: value for key, value in task.items()
                           if key not in QUIET_KEYS and key not in ("vars", "block", "rescue", "always")})
    used = {name: value for name, value in (task.get("vars") or {}).items() if name in text}
    return text + yaml.safe_dump(used)


TASK_FILES = sorted((ROLES / "notify" / "tasks").glob("*.yml")) + sorted((ROLES / "hooks" / "tasks").glob("*.yml"))


@pytest.mark.parametrize("path", TASK_FILES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_tasks_that_use_a_secret_are_no_log(path):
    for task in tasks_of(path):
        if any(key in task for key in ("block", "rescue", "always")):
            continue
        text = shown(task)
        if not any(mark in text for mark in SECRET_MARKS):
            continue
        assert "ansible.builtin.debug" not in task, f"{task['name']}: a debug task shows a secret"
        no_log = task.get("no_log")
        if path.name == "hook.yml" and task["name"] == "Call the URL from the controller":
            # no_log when the hook carries a secret: url_var or token_var (checked below).
            assert no_log == "{{ __hooks_secret }}", task["name"]
        elif path.name == "hook.yml" and task["name"] == "Check that the variables with the hook's secrets are set":
            assert "__hooks_token" not in yaml.safe_dump(task["ansible.builtin.fail"]), "the message names variables"
        else:
            assert no_log is True, f"{path.name}: {task['name']!r} reads a secret but is not no_log: true"


def test_the_hook_secret_flag_covers_both_variables():
    block = next(task for task in tasks_of(ROLES / "hooks" / "tasks" / "hook.yml") if "block" in task)
    flag = block["vars"]["__hooks_secret"]
    assert "url_var" in flag and "token_var" in flag


def test_the_webhook_and_mail_calls_are_no_log():
    webhook = {t["name"]: t for t in tasks_of(ROLES / "notify" / "tasks" / "webhook.yml")}
    assert webhook["Call the webhook"]["no_log"] is True and webhook["Record the webhooks"]["no_log"] is True
    mail = {t["name"]: t for t in tasks_of(ROLES / "notify" / "tasks" / "email.yml")}
    assert mail["Send the mail"]["no_log"] is True
