"""The policy's hooks, notification targets and HTTP/command health checks: normal forms and every error."""

import copy
import json
from pathlib import Path

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils import policy as policy_module
from ansible_collections.patchpilot.fleet.plugins.module_utils.policy import PolicyError, validate_policy
from support.skips import require_module

REPO = Path(__file__).resolve().parents[4]
SCHEMA = REPO / "docs" / "policy.schema.json"
MINIMAL = {"version": 2, "reboot": "never"}


def policy(**sections):
    data = copy.deepcopy(MINIMAL)
    data.update(sections)
    return data


def errors_of(data) -> list:
    with pytest.raises(PolicyError) as caught:
        validate_policy(data, today="2026-11-27")
    return caught.value.errors


def schema_validator():
    jsonschema = require_module("jsonschema")
    return jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))


# ---------------------------------------------------------------------------
# Normal forms
# ---------------------------------------------------------------------------

def test_plain_commands_become_hooks_placed_by_phase():
    hooks = validate_policy(policy(hooks={
        "pre_host": ["lb-drain --wait 60"], "post_host": [["lb-undrain", "--quiet"]],
        "pre_wave": ["announce 'wave starts'"], "post_wave": []}))["hooks"]
    assert hooks["pre_host"] == [{"name": "lb-drain --wait 60", "command": ["lb-drain", "--wait", "60"], "url": None,
                                  "url_var": None, "on": "host", "method": None, "headers": None, "body": None,
                                  "status": None, "timeout": 30, "token_var": None, "token_header": None,
                                  "undo": None}]
    assert hooks["post_host"][0]["command"] == ["lb-undrain", "--quiet"]
    assert hooks["post_host"][0]["name"] == "lb-undrain --quiet"
    assert hooks["pre_wave"][0]["on"] == "controller"
    assert hooks["pre_wave"][0]["command"] == ["announce", "wave starts"]
    assert hooks["post_wave"] == []


def test_mapping_hooks_with_undo():
    hooks = validate_policy(policy(hooks={"pre_host": [
        {"name": "drain", "url": "https://lb.example.com/drain/{host}", "method": "put",
         "body": {"host": "{host}", "when": __import__("datetime").date(2026, 1, 2)}, "status": 204, "timeout": 5,
         "undo": {"url": "https://lb.example.com/enable/{host}"}},
        {"command": "touch /run/marker", "on": "controller", "undo": ["rm", "-f", "/run/marker"]},
    ]}))["hooks"]["pre_host"]
    drain, marker = hooks
    assert drain == {
        "name": "drain", "command": None, "url": "https://lb.example.com/drain/{host}", "url_var": None,
        "on": "controller", "method": "PUT", "headers": {}, "body": {"host": "{host}", "when": "2026-01-02"},
        "status": 204, "timeout": 5, "token_var": None, "token_header": None,
        "undo": {"name": "POST https://lb.example.com/enable/{host}", "command": None,
                 "url": "https://lb.example.com/enable/{host}", "url_var": None, "on": "controller",
                 "method": "POST", "headers": {}, "body": None, "status": 200, "timeout": 30, "token_var": None,
                 "token_header": None, "undo": None}}
    assert marker["on"] == "controller" and marker["command"] == ["touch", "/run/marker"]
    # A plain undo takes the phase's place (host for *_host), not the hook's.
    assert marker["undo"]["command"] == ["rm", "-f", "/run/marker"] and marker["undo"]["on"] == "host"
    json.dumps(hooks)


def test_health_checks_http_commands_memory():
    checks = validate_policy(policy(health_checks={
        "memory_factor": 1.5,
        "http": [{"url": "http://localhost:8080/"},
                 {"name": "api", "url": "https://a.example/x", "status": 204, "timeout": 3}],
        "commands": [{"command": "systemctl is-active nginx"}, {"name": "cfg", "command": ["nginx", "-t"], "rc": 1}],
    }))["health_checks"]
    assert checks["memory_factor"] == 1.5
    assert checks["http"] == [
        {"name": "http://localhost:8080/", "url": "http://localhost:8080/", "status": 200, "timeout": 10},
        {"name": "api", "url": "https://a.example/x", "status": 204, "timeout": 3}]
    assert checks["commands"] == [
        {"name": "systemctl is-active nginx", "command": ["systemctl", "is-active", "nginx"], "rc": 0},
        {"name": "cfg", "command": ["nginx", "-t"], "rc": 1}]


def test_notification_defaults():
    targets = validate_policy(policy(notifications=[
        {"type": "email", "target": "ops@example.com"},
        {"type": "webhook", "target": "https://chat.example.com/h", "headers": {"X-Team": "ops", "X-Id": 7}},
        {"type": "wall", "events": ["reboot", "start"]},
        {"type": "log"},
    ]))["notifications"]
    assert targets[0] == {"type": "email", "target": "ops@example.com", "events": list(policy_module.EVENTS),
                          "smtp_host": "localhost", "smtp_port": 25, "from": None, "secure": "try",
                          "username": None, "password_var": None}
    assert targets[1] == {"type": "webhook", "target": "https://chat.example.com/h",
                          "events": list(policy_module.EVENTS), "method": "POST",
                          "headers": {"X-Team": "ops", "X-Id": "7"}, "auth": "none", "url_var": None,
                          "token_var": None, "token_header": None, "label": "https://chat.example.com/h"}
    assert targets[2] == {"type": "wall", "target": None, "events": ["start", "reboot"]}
    assert targets[3] == {"type": "log", "target": None, "events": list(policy_module.EVENTS)}


def test_email_options_are_kept():
    target = validate_policy(policy(notifications=[
        {"type": "email", "target": "ops@example.com", "smtp_host": "mail.example.com", "smtp_port": 587,
         "from": "pp@example.com", "secure": "starttls", "username": "pp"}]))["notifications"][0]
    assert (target["smtp_host"], target["smtp_port"], target["from"], target["secure"], target["username"]) == \
        ("mail.example.com", 587, "pp@example.com", "starttls", "pp")


# ---------------------------------------------------------------------------
# Every bad value: its own message with the key's path
# ---------------------------------------------------------------------------

def hook(phase="pre_host", **item):
    return policy(hooks={phase: [item]})


BAD = [
    # health checks
    ("memory-factor-one", policy(health_checks={"memory_factor": 1}),
     "health_checks.memory_factor: expected a number above 1 and at most 1000, or null, got 1"),
    ("memory-factor-text", policy(health_checks={"memory_factor": "2x"}),
     "health_checks.memory_factor: expected a number above 1 and at most 1000, or null, got '2x'"),
    ("http-not-list", policy(health_checks={"http": "http://x.example/"}),
     "health_checks.http: expected a list of {url, status, timeout, name} mappings, got a string"),
    ("http-no-url", policy(health_checks={"http": [{"status": 200}]}),
     "health_checks.http[0].url: required (an http:// or https:// URL)"),
    ("http-ftp", policy(health_checks={"http": [{"url": "ftp://x.example/"}]}),
     "health_checks.http[0].url: 'ftp://x.example/' is not an http:// or https:// URL"),
    ("http-status", policy(health_checks={"http": [{"url": "http://x.example/", "status": 999}]}),
     "health_checks.http[0].status: expected an HTTP status code from 100 to 599, got 999"),
    ("http-timeout", policy(health_checks={"http": [{"url": "http://x.example/", "timeout": 0}]}),
     "health_checks.http[0].timeout: expected a whole number of seconds from 1 to 86400, got 0"),
    ("http-typo", policy(health_checks={"http": [{"url": "http://x.example/", "statuss": 200}]}),
     "health_checks.http[0].statuss: unknown key (did you mean status?)"),
    ("http-name", policy(health_checks={"http": [{"url": "http://x.example/", "name": ""}]}),
     "health_checks.http[0].name: expected a non-empty string, got ''"),
    ("command-check-missing", policy(health_checks={"commands": [{"rc": 0}]}),
     "health_checks.commands[0].command: required (a command line or a list of arguments)"),
    ("command-check-quote", policy(health_checks={"commands": [{"command": "echo 'x"}]}),
     "health_checks.commands[0].command: cannot split the command line: No closing quotation"),
    ("command-check-rc", policy(health_checks={"commands": [{"command": "true", "rc": -1}]}),
     "health_checks.commands[0].rc: expected a whole number from 0 to 255, got -1"),
    ("command-check-rc-high", policy(health_checks={"commands": [{"command": "true", "rc": 300}]}),
     "health_checks.commands[0].rc: expected a whole number from 0 to 255, got 300"),
    ("command-check-item", policy(health_checks={"commands": ["true"]}),
     "health_checks.commands[0]: expected a mapping with command (and rc, name), got a string"),
    # hooks
    ("hooks-not-list", policy(hooks={"pre_host": "drain"}),
     "hooks.pre_host: expected a list of hooks (commands or mappings), got a string"),
    ("hook-neither", hook(name="nothing"), "hooks.pre_host[0]: give exactly one of command, url or url_var"),
    ("hook-both", hook(command="true", url="http://x.example/"),
     "hooks.pre_host[0]: give exactly one of command, url or url_var (got command, url)"),
    ("hook-typo", hook(command="true", undoo="false"), "hooks.pre_host[0].undoo: unknown key (did you mean undo?)"),
    ("hook-on", hook(command="true", on="everywhere"),
     "hooks.pre_host[0].on: 'everywhere' is not one of host, controller"),
    ("hook-url-on-host", hook(url="http://x.example/", on="host"),
     "hooks.pre_host[0].on: a url hook always runs from the controller, got 'host'"),
    ("hook-url-scheme", hook(url="file:///etc/passwd"),
     "hooks.pre_host[0].url: 'file:///etc/passwd' is not an http:// or https:// URL"),
    ("hook-url-credentials", hook(url="https://admin:secret@lb.example.com/drain"),
     "hooks.pre_host[0].url: a URL with a user or password in it: credentials do not belong in the policy "
     "(keep the whole URL in a variable and name it with url_var: VARIABLE)"),
    ("hook-method", hook(url="http://x.example/", method="FETCH"),
     "hooks.pre_host[0].method: 'FETCH' is not one of GET, POST, PUT, PATCH, DELETE"),
    ("hook-body", hook(url="http://x.example/", body="drain=1"),
     "hooks.pre_host[0].body: expected a mapping (sent as JSON), got a string"),
    ("hook-status", hook(url="http://x.example/", status="ok"),
     "hooks.pre_host[0].status: expected an HTTP status code from 100 to 599, got 'ok'"),
    ("hook-timeout", hook(command="true", timeout=-5),
     "hooks.pre_host[0].timeout: expected a whole number of seconds from 1 to 86400, got -5"),
    ("hook-command-with-method", hook(command="true", method="POST"),
     "hooks.pre_host[0].method: only for a url hook"),
    ("hook-command-list", hook(command=["", "x"]),
     "hooks.pre_host[0].command: expected a list of arguments: strings, the first (the program) not empty"),
    ("hook-name", hook(command="true", name=5), "hooks.pre_host[0].name: expected a non-empty string, got 5"),
    ("hook-undo-bad", hook(command="true", undo={"command": "echo 'x"}),
     "hooks.pre_host[0].undo.command: cannot split the command line: No closing quotation"),
    ("hook-undo-nested", hook(command="true", undo={"command": "false", "undo": "true"}),
     "hooks.pre_host[0].undo.undo: an undo has no undo of its own"),
    ("hook-undo-empty", hook("post_wave", command="true", undo=""),
     "hooks.post_wave[0].undo: expected a command line or a list of arguments, got ''"),
    ("hook-item-number", policy(hooks={"pre_wave": [42]}),
     "hooks.pre_wave[0]: expected a command line or a list of arguments, got 42"),
    # notifications
    ("wall-target", policy(notifications=[{"type": "wall", "target": "all"}]),
     "notifications[0].target: a wall message goes to the terminals of the hosts being patched: it has no target"),
    ("event-empty", policy(notifications=[{"type": "wall", "events": []}]),
     "notifications[0].events: expected at least one of start, wave, reboot, failure, done"),
    ("email-port", policy(notifications=[{"type": "email", "target": "a@b.example", "smtp_port": 0}]),
     "notifications[0].smtp_port: expected a port number from 1 to 65535, got 0"),
    ("email-host", policy(notifications=[{"type": "email", "target": "a@b.example", "smtp_host": "mail host"}]),
     "notifications[0].smtp_host: expected a host name or address, got 'mail host'"),
    ("email-from", policy(notifications=[{"type": "email", "target": "a@b.example", "from": "patchpilot"}]),
     "notifications[0].from: 'patchpilot' is not an email address"),
    ("email-secure", policy(notifications=[{"type": "email", "target": "a@b.example", "secure": "maybe"}]),
     "notifications[0].secure: 'maybe' is not one of never, try, starttls, always"),
    ("email-password", policy(notifications=[{"type": "email", "target": "a@b.example", "password": "x"}]),
     "notifications[0].password: the SMTP password is never written in the policy: set the variable "
     "patchpilot_smtp_password (Ansible Vault or an AWX credential)"),
    ("email-username", policy(notifications=[{"type": "email", "target": "a@b.example", "username": ""}]),
     "notifications[0].username: expected a non-empty string, got ''"),
    ("webhook-email-key", policy(notifications=[{"type": "webhook", "target": "https://h.example/",
                                                 "smtp_port": 25}]),
     "notifications[0].smtp_port: unknown key (known keys: type, target, events, method, headers, auth, url_var, "
     "token_var, token_header)"),
    ("webhook-method", policy(notifications=[{"type": "webhook", "target": "https://h.example/", "method": "GET"}]),
     "notifications[0].method: 'GET' is not one of POST, PUT, PATCH"),
    ("webhook-headers", policy(notifications=[{"type": "webhook", "target": "https://h.example/",
                                               "headers": ["X-A: 1"]}]),
     "notifications[0].headers: expected a mapping of header name to value, got a list"),
    ("webhook-authorization", policy(notifications=[{"type": "webhook", "target": "https://h.example/",
                                                     "headers": {"Authorization": "Bearer abc"}}]),
     "notifications[0].headers.Authorization: looks like a credential: credentials do not belong in the policy "
     "(it is plain text, reviewed and versioned); keep the value in a variable (Ansible Vault, an AWX credential or "
     "lookup('env', ...)) and name it: token_var: VARIABLE, token_header: Authorization"),
    ("webhook-authorization-any-case", policy(notifications=[{"type": "webhook", "target": "https://h.example/",
                                                              "headers": {"proxy-AUTHORIZATION": "x"}}]),
     "notifications[0].headers.proxy-AUTHORIZATION: looks like a credential: credentials do not belong in the "
     "policy (it is plain text, reviewed and versioned); keep the value in a variable (Ansible Vault, an AWX "
     "credential or lookup('env', ...)) and name it: token_var: VARIABLE, token_header: proxy-AUTHORIZATION"),
    ("webhook-header-name", policy(notifications=[{"type": "webhook", "target": "https://h.example/",
                                                   "headers": {"X Team": "ops"}}]),
     "notifications[0].headers: 'X Team' is not an HTTP header name"),
    ("webhook-header-value", policy(notifications=[{"type": "webhook", "target": "https://h.example/",
                                                    "headers": {"X-Team": ["ops"]}}]),
     "notifications[0].headers.X-Team: expected a string, got a list"),
    ("webhook-auth", policy(notifications=[{"type": "webhook", "target": "https://h.example/", "auth": "basic"}]),
     "notifications[0].auth: 'basic' is not one of none, bearer"),
    ("webhook-url-credentials", policy(notifications=[{"type": "webhook", "target": "https://u:p@h.example/"}]),
     "notifications[0].target: a URL with a user or password in it: credentials do not belong in the policy "
     "(keep the whole URL in a variable and name it with url_var: VARIABLE)"),
]


@pytest.mark.parametrize("data, message", [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_value_gives_its_path_and_message(data, message):
    before = copy.deepcopy(data)
    assert errors_of(data) == [message]
    assert data == before


def test_case_names_are_unique():
    assert len({case[0] for case in BAD}) == len(BAD)


SCHEMA_TELLS = {
    "memory-factor-one", "http-no-url", "http-ftp", "http-status", "http-timeout", "http-typo", "command-check-missing",
    "command-check-rc-high", "command-check-item", "hooks-not-list", "hook-neither", "hook-both", "hook-typo",
    "hook-on", "hook-url-on-host", "hook-url-scheme", "hook-url-credentials", "hook-method", "hook-body",
    "hook-status", "hook-timeout", "hook-command-with-method", "hook-undo-nested", "hook-item-number", "wall-target",
    "event-empty", "email-port", "email-from", "email-secure", "email-password", "webhook-email-key",
    "webhook-method", "webhook-headers", "webhook-authorization", "webhook-authorization-any-case", "webhook-auth",
    "webhook-url-credentials",
}


@pytest.mark.parametrize("data", [case[1] for case in BAD if case[0] in SCHEMA_TELLS],
                         ids=[case[0] for case in BAD if case[0] in SCHEMA_TELLS])
def test_schema_rejects_what_it_can_tell(data):
    assert not schema_validator().is_valid(json.loads(json.dumps(data, default=str)))


def test_schema_accepts_the_normal_cases():
    validator = schema_validator()
    for data in (
        policy(hooks={"pre_host": ["a b", ["c"], {"command": "x", "undo": "y"},
                                   {"url": "https://h.example/{host}", "method": "post", "body": {"a": 1},
                                    "undo": {"url": "https://h.example/u", "on": "controller"}}]}),
        policy(health_checks={"memory_factor": 1.2, "http": [{"url": "http://h.example/"}],
                              "commands": [{"command": ["true"], "rc": 0, "name": "t"}]}),
        policy(notifications=[{"type": "wall"}, {"type": "email", "target": "a@b.example", "secure": "never"},
                              {"type": "webhook", "target": "https://h.example/", "headers": {"X-A": "1"},
                               "auth": "bearer"}]),
    ):
        problems = [e.message for e in validator.iter_errors(data)]
        assert problems == []
        validate_policy(data)


def test_schema_knows_the_new_keys():
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    defs = schema["$defs"]
    assert sorted(schema["properties"]["health_checks"]["properties"]) == sorted(policy_module._HEALTH_KEYS)
    assert sorted(defs["http_check"]["properties"]) == sorted(policy_module._HTTP_CHECK_KEYS)
    assert sorted(defs["command_check"]["properties"]) == sorted(policy_module._COMMAND_CHECK_KEYS)
    assert sorted(defs["hook_mapping"]["properties"]) == sorted(policy_module._HOOK_KEYS)
    notification = defs["notification"]["properties"]
    assert sorted(notification) == sorted(policy_module._NOTIFICATION_KEYS + policy_module._EMAIL_KEYS
                                          + policy_module._WEBHOOK_KEYS)
    assert notification["type"]["enum"] == list(policy_module.NOTIFICATION_TYPES)
    assert notification["events"]["items"]["enum"] == list(policy_module.EVENTS)


def test_docs_name_the_new_keys():
    text = (REPO / "docs" / "policy.md").read_text(encoding="utf-8")
    for key in policy_module._HOOK_KEYS + policy_module._EMAIL_KEYS + policy_module._WEBHOOK_KEYS \
            + ("memory_factor", "http", "commands", "wall", "patchpilot_smtp_password", "patchpilot_webhook_token"):
        assert f"`{key}" in text or f"{key}`" in text, key


def test_on_key_read_from_yaml_stays_on():
    """YAML 1.1 reads a bare `on:` key as true; the policy reader keeps it the key "on"."""
    text = "version: 2\nreboot: never\nhooks:\n  pre_host:\n    - {command: 'touch /tmp/x', on: controller}\n"
    hook = policy_module.read_policy(text, today="2026-11-27")["hooks"]["pre_host"][0]
    assert hook["on"] == "controller"
    assert policy_module.load_policy("version: 2\nflags: {on: 1, yes: 2}\n")["flags"] == {"on": 1, "yes": 2}
    # The same mapping from another YAML 1.1 reader (an Ansible variable) has the key True.
    data = policy(hooks={"pre_host": [{"command": "true", True: "controller"}]})
    assert validate_policy(data)["hooks"]["pre_host"][0]["on"] == "controller"


def test_auth_header_sends_a_token_as_bearer_or_as_it_is():
    from ansible_collections.patchpilot.fleet.plugins.module_utils.policy import auth_header  # pylint: disable=import-outside-toplevel

    assert auth_header("") == {} and auth_header(None, "X-Api-Key") == {}
    assert auth_header("t0k") == {"Authorization": "Bearer t0k"}
    assert auth_header("t0k", "authorization") == {"authorization": "Bearer t0k"}
    assert auth_header("t0k", "X-Api-Key") == {"X-Api-Key": "t0k"}
