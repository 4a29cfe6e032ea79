"""formats.newer_format: a file written by a newer patchpilot is named so; anything else is left to its reader."""

from __future__ import annotations

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.formats import newer_format


@pytest.mark.parametrize("data, known, message", [
    ({"format": 2}, 1, "run record format 2 is not 1: written by a newer patchpilot (this one reads run record"
                       " format 1); use that patchpilot version or a newer one"),
    ({"format": 3}, (1, 2), "run record format 3 is not one of 1, 2: written by a newer patchpilot (this one reads run"
                            " record format 1, 2)"),
    ({"format": 1}, 1, None),
    ({"format": 1}, (1, 2), None),
    ({"format": 0}, 1, None),  # older: the reader's own message
    ({"format": "9"}, 1, None),  # not a number: the reader's own message
    ({"format": True}, 0, None),
    ({}, 1, None),
    ("not a dict", 1, None),
])
def test_newer_format(data, known, message):
    found = newer_format(data, known, "run record")
    assert found == message if message is None else found.startswith(message)
