"""The one YAML loader for outside input (plugins/module_utils/yamlinput.py): limits, duplicates, short quotes."""

import time
import tracemalloc

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils import yamlinput
from ansible_collections.patchpilot.fleet.plugins.module_utils.yamlinput import YamlInputError, load


def problems_of(text, **limits):
    with pytest.raises(YamlInputError) as info:
        load(text, **limits)
    return [(item.line, item.column, item.message) for item in info.value.problems]


def laughs(levels: int, width: int = 10) -> str:
    """The billion laughs: each level a list of `width` aliases of the level before."""
    lines = ["l0: &l0 [%s]" % ", ".join(["lol"] * width)]
    lines += ["l%d: &l%d [%s]" % (level, level, ", ".join(["*l%d" % (level - 1)] * width)) for level in range(1, levels)]
    return "\n".join(lines) + "\n"


def merges(levels: int) -> str:
    """Merge keys that double a mapping at every level."""
    lines = ["m0: &m0 {a: 1, b: 2}"]
    lines += ["m%d: &m%d {<<: [*m%d, *m%d], k%d: %d}" % (level, level, level - 1, level - 1, level, level)
              for level in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_plain_documents_load_with_their_node():
    data, node = load("a: 1\nb: [x, {c: 01:30}]\non: yes\n")
    assert data == {"a": 1, "b": ["x", {"c": "01:30"}], "on": True}
    assert node.start_mark.line == 0
    assert load("") == (None, None)
    assert load("# nothing\n") == (None, None)


def test_aliases_within_the_limit_load():
    data, _node = load(laughs(3))  # 10 + 100 nodes from aliases
    assert len(data["l2"]) == 10 and data["l2"][9][9] == ["lol"] * 10
    data, _node = load("base: &b {x: 1, y: 2}\nweb: {<<: *b, y: 3}\n")
    assert data["web"] == {"x": 1, "y": 3}


@pytest.mark.parametrize("text", [laughs(9), laughs(5, width=40), merges(30)])
def test_alias_bomb_is_refused_before_it_is_expanded(text):
    tracemalloc.start()
    started = time.monotonic()
    try:
        problems = problems_of(text)
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 5
    assert peak < 20 * 1024 * 1024
    assert len(problems) == 1
    line, _column, message = problems[0]
    assert line > 1 and message == "aliases would expand the document by more than 10000 nodes"


def test_a_large_document_may_expand_by_its_own_size():
    text = "base: &b {x: 1}\nhosts:\n" + "".join("  - {name: h%d, <<: *b}\n" % index for index in range(1000))
    data, _node = load(text, max_alias_nodes=100)
    assert data["hosts"][999] == {"name": "h999", "x": 1}
    assert problems_of(text.replace("{x: 1}", "{x: 1, y: 2, z: 3, w: 4, v: 5}"), max_alias_nodes=100)[0][2] == (
        "aliases would expand the document by more than 4015 nodes")  # the document's own nodes


@pytest.mark.parametrize(("text", "problem"), [
    ("a: &a [1, *a]\n", (1, 11, "the alias *a refers to the node it is in (a recursive structure)")),
    ("a: &a {b: {c: *a}}\n", (1, 15, "the alias *a refers to the node it is in (a recursive structure)")),
    ("a: *missing\n", (1, 4, "found undefined alias 'missing'")),
])
def test_recursive_and_unknown_aliases(text, problem):
    assert problems_of(text) == [problem]


@pytest.mark.parametrize("text", [
    "[" * 65 + "]" * 65,
    "{a: " * 65 + "x" + "}" * 65,
    "".join("  " * depth + "k:\n" for depth in range(65)) + "  " * 65 + "x\n",
    "- " * 65 + "x\n",
    "[" * 100000,            # far past Python's recursion limit, and not even closed
    "- " * 100000 + "x\n",
])
def test_deep_nesting_is_one_message_never_a_recursion_error(text):
    problems = problems_of(text)
    assert len(problems) == 1 and problems[0][0] is not None
    assert problems[0][2] == "nested more than 64 levels deep"


def test_nesting_at_the_limit_loads():
    data, _node = load("[" * 64 + "]" * 64)
    for _level in range(63):
        data = data[0]
    assert data == []


def test_aliases_count_toward_the_depth():
    inner = "[" * 40 + "]" * 40
    text = "a: &a %s\nb: %s*a%s\n" % (inner, "[" * 30, "]" * 30)
    assert problems_of(text) == [(2, 34, "nested more than 64 levels deep once aliases are followed")]


def test_duplicate_keys_are_listed_with_line_and_column():
    text = "a: 1\nb: {x: 1, x: 2}\na: 3\n"
    assert problems_of(text) == [(2, 11, "duplicate key 'x'"), (3, 1, "duplicate key 'a'")]


def test_messages_quote_a_short_prefix():
    key = "k" * 900
    problems = problems_of('"%s": 1\n"%s": 2\n' % (key, key))
    assert problems == [(2, 1, "duplicate key '%s..." % key[:56])]
    problems = problems_of("a: !%s x\n" % ("t" * 5000))
    assert len(problems[0][2]) <= 160 and problems[0][2].endswith("...")
    assert yamlinput.shorten("x" * 1000) == "'" + "x" * 56 + "..."
