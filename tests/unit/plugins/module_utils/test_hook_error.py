"""module_utils/hook_error.py: why a hook failed, in one line (and the filter)."""

from __future__ import annotations

import pytest

from ansible_collections.patchpilot.fleet.plugins.filter.hook_error import FilterModule
from ansible_collections.patchpilot.fleet.plugins.module_utils.hook_error import hook_error


@pytest.mark.parametrize("result, secret, expected", [
    ({"rc": 124, "stderr": ""}, False, "timed out after 7 s"),
    ({"rc": 3, "stderr": "  no such pool\n"}, False, "exit status 3: no such pool"),
    ({"rc": 1, "stderr": ""}, False, "exit status 1"),
    ({"status": 503, "msg": "Status code was 503"}, False, "HTTP status 503 (expected 204)"),
    ({"status": 503}, True, "HTTP status 503 (expected 204)"),
    ({"status": -1, "msg": "Connection refused https://token@lb.example.org"}, True,
     "no answer (details hidden: the call carries a secret)"),
    ({"status": -1, "msg": "Connection refused"}, False, "Connection refused"),
    ({"msg": "the variable lb_url that the hook names is not set"}, False,
     "the variable lb_url that the hook names is not set"),
    ({}, False, "unknown error"),
    (None, False, "unknown error"),
])
def test_the_reason_of_a_failed_hook(result, secret, expected):
    assert hook_error(result, 7, 204, secret) == expected


def test_the_filter_is_the_function():
    assert FilterModule().filters()["hook_error"]({"rc": 124}, 9) == "timed out after 9 s"


@pytest.mark.parametrize("secret, hidden", [("True", True), ("False", False), (True, True), (False, False)])
def test_the_secret_flag_as_text(secret, hidden):
    message = hook_error({"status": -1, "msg": "refused"}, 30, 200, secret)
    assert (message == "no answer (details hidden: the call carries a secret)") is hidden
