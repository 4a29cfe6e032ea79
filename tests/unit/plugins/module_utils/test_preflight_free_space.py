"""preflight_checks.free_space_check: is there room for the download and the install?"""

from __future__ import annotations

from ansible_collections.patchpilot.fleet.plugins.module_utils.preflight_checks import free_space_check

DF = """Filesystem     1048576-blocks  Used Available Capacity Mounted on
overlay                  50000 20000     30000      40% /
tmpfs                      100    95         5      95% /var
"""


def test_enough_and_too_little():
    verdict = free_space_check({"/": 500, "/var": 200, "/boot": 100}, 64, DF, ["/", "/var"])
    assert verdict["mounts"] == {"/": {"free_mb": 30000, "required_mb": 564, "ok": True},
                                 "/var": {"free_mb": 5, "required_mb": 264, "ok": False}}
    assert verdict["ok"] is False and verdict["message"] == "free_space: too little on /var 5 MiB free, 264 needed"


def test_enough():
    verdict = free_space_check({"/": 500}, 0, DF.splitlines()[0] + "\n" + DF.splitlines()[1], ["/"])
    assert verdict["ok"] and verdict["message"] == "free_space: enough"


def test_df_output_that_does_not_fit_the_paths():
    verdict = free_space_check({"/": 500, "/var": 1}, 0, "", ["/", "/var"])
    assert verdict["ok"] is False and verdict["message"] == "free_space: df printed 0 line(s) for 2 path(s)"
