"""load_policy on hostile YAML (issue #10): alias bombs, deep nesting, long values in messages."""

import time

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.policy import PolicyError, load_policy

# 511 bytes of nested aliases: 9**9 (387 million) strings once expanded.
ALIAS_BOMB = "version: 2\nreboot: never\n" + "".join(
    "x%d: &x%d [%s]\n" % (level, level, ", ".join(["lol"] * 9 if level == 0 else ["*x%d" % (level - 1)] * 9))
    for level in range(9))


def errors_of(text_or_path):
    with pytest.raises(PolicyError) as info:
        load_policy(text_or_path)
    return info.value.errors


def test_alias_bomb_is_refused_at_once(tmp_path):
    path = tmp_path / "policy.yml"
    path.write_text(ALIAS_BOMB, encoding="utf-8")
    started = time.monotonic()
    assert errors_of(path) == ["%s: line 11, column 10: aliases would expand the document by more than 10000 nodes" % path]
    assert time.monotonic() - started < 2


def test_merge_key_bomb_is_refused():
    text = "version: 2\nm0: &m0 {a: 1, b: 2}\n" + "".join(
        "m%d: &m%d {<<: [*m%d, *m%d], k%d: 1}\n" % (level, level, level - 1, level - 1, level) for level in range(1, 40))
    [error] = errors_of(text)
    assert error.startswith("policy: line ") and error.endswith(": aliases would expand the document by more than 10000 nodes")


def test_an_alias_that_holds_itself_is_refused():
    assert errors_of("version: 2\nhooks: &h {pre_run: [*h]}\n") == [
        "policy: line 2, column 22: the alias *h refers to the node it is in (a recursive structure)"]


@pytest.mark.parametrize("text", [
    "version: 2\nx: " + "[" * 5000 + "]" * 5000 + "\n",
    "version: 2\nx: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n",
    "version: 2\nx:\n" + "".join("  " * depth + "- \n" for depth in range(1, 80)),
])
def test_deep_nesting_is_one_clear_message(text, tmp_path):
    path = tmp_path / "deep.yml"
    path.write_text(text, encoding="utf-8")
    [error] = errors_of(path)
    assert error.startswith("%s: line " % path) and error.endswith(": nested more than 64 levels deep")


def test_messages_quote_a_short_prefix_of_a_long_value():
    secret = "s3cr3t" * 150  # an implicit key may be up to 1024 characters
    [error] = errors_of("version: 2\n%s: 1\n%s: 2\n" % (secret, secret))
    assert len(error) <= 100 and error.startswith("policy: line 3, column 1: duplicate key 's3cr3ts3cr3t")
    [error] = errors_of("version: 2\nreboot: !%s never\n" % secret)
    assert len(error) < 200 and secret not in error
