"""check_candidates: the plan's versions against the repositories' offer (moved, withdrawn, gone)."""

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.candidates import (
    CandidatesError,
    check_candidates,
)


def offer(installed, candidate, *versions):
    """versions: (version, in_a_repository)"""
    return {"installed": installed, "candidate": candidate,
            "versions": [{"version": v, "repositories": ["file:/repo ./ Packages"] if repo else []} for v, repo in versions]}


def plan(*pairs):
    return [{"name": n, "version": v} for n, v in pairs]


def test_the_repositories_still_offer_the_plan():
    result = check_candidates(plan(("a", "1.1-1")), {"a": offer("1.0-1", "1.1-1", ("1.1-1", True), ("1.0-1", True))})
    assert result["ok"] is True and result["moved"] == [] and result["gone"] == [] and result["withdrawn"] == []
    assert result["packages"] == [{"name": "a", "planned": "1.1-1", "installed": "1.0-1", "candidate": "1.1-1",
                                   "offered": ["1.1-1", "1.0-1"], "state": "current"}]
    assert result["message"] == "the repositories still offer the planned versions"


def test_a_newer_candidate_is_reported_not_failed():
    result = check_candidates(plan(("seclib", "1.0-1+lab1sec1"), ("web", "1.0-2")), {
        "seclib": offer("1.0-1", "1.0-1+lab1sec2", ("1.0-1+lab1sec2", True), ("1.0-1+lab1sec1", True)),
        "web": offer("1.0-1", "1.0-2", ("1.0-2", True))})
    assert result["ok"] is True
    assert result["moved"] == [{"name": "seclib", "planned": "1.0-1+lab1sec1", "candidate": "1.0-1+lab1sec2"}]
    assert [p["state"] for p in result["packages"]] == ["moved", "current"]
    assert result["message"] == ("the repositories moved on since the plan, the planned versions are installed: "
                                 "seclib plan 1.0-1+lab1sec1, candidate 1.0-1+lab1sec2")


def test_an_older_candidate_is_not_moved():
    """A pin that holds the candidate below the plan: the plan's version is offered, nothing newer is taken."""
    result = check_candidates(plan(("a", "2.0-1")), {"a": offer("1.0-1", "1.0-1", ("2.0-1", True), ("1.0-1", True))})
    assert result["packages"][0]["state"] == "current" and result["moved"] == []


def test_debian_order_not_string_order():
    result = check_candidates(plan(("a", "1.9-1")), {"a": offer(None, "1.10-1", ("1.10-1", True), ("1.9-1", True))})
    assert result["moved"] == [{"name": "a", "planned": "1.9-1", "candidate": "1.10-1"}]
    result = check_candidates(plan(("a", "1.0-1")), {"a": offer(None, "1.0~rc1-1", ("1.0~rc1-1", True), ("1.0-1", True))})
    assert result["moved"] == []


def test_a_version_gone_and_not_staged_fails_naming_it():
    result = check_candidates(plan(("web", "9.9-9"), ("nosuch", "1.0-1"), ("seclib", "1.0-1+lab1sec1")), {
        "web": offer("1.0-1", "1.0-2", ("1.0-2", True), ("1.0-1", False)),
        "seclib": offer("1.0-1", "1.0-1+lab1sec1", ("1.0-1+lab1sec1", True))})
    assert result["ok"] is False
    assert result["gone"] == [{"name": "web", "planned": "9.9-9", "offered": ["1.0-2"]},
                              {"name": "nosuch", "planned": "1.0-1", "offered": []}]
    assert result["message"] == ("plan versions gone from the repositories and not staged: "
                                 "web=9.9-9 (the repositories offer 1.0-2); nosuch=1.0-1 (the repositories offer no version)")


def test_a_version_only_dpkg_knows_is_not_offered():
    """Installed elsewhere (another version is installed) and in no repository: gone."""
    result = check_candidates(plan(("a", "2.0-1")), {"a": offer("1.0-1", None, ("2.0-1", False), ("1.0-1", False))})
    assert result["gone"][0]["name"] == "a" and result["ok"] is False


def test_a_version_gone_but_staged_is_withdrawn_and_installed():
    result = check_candidates(plan(("web", "1.0-2"), ("seclib", "1.0-1+lab1sec1")),
                              {"web": offer("1.0-1", "1.0-1", ("1.0-1", True)),
                               "seclib": offer("1.0-1", "1.0-1+lab1sec2", ("1.0-1+lab1sec2", True))},
                              staged=plan(("web", "1.0-2"), ("seclib", "1.0-1+lab1sec1")))
    assert result["ok"] is True and result["gone"] == []
    assert result["withdrawn"] == [{"name": "web", "planned": "1.0-2", "offered": ["1.0-1"]},
                                   {"name": "seclib", "planned": "1.0-1+lab1sec1", "offered": ["1.0-1+lab1sec2"]}]
    assert result["message"] == ("no longer in the repositories, installed from the staged files: "
                                 "web=1.0-2; seclib=1.0-1+lab1sec1")


def test_staged_under_another_version_does_not_count():
    result = check_candidates(plan(("web", "1.0-2")), {}, staged=plan(("web", "1.0-3")))
    assert result["ok"] is False and result["gone"][0]["planned"] == "1.0-2"


def test_the_installed_plan_version_is_in_place_whatever_the_repositories_say():
    result = check_candidates(plan(("a", "1.0-2")), {"a": offer("1.0-2", "1.0-3", ("1.0-3", True))})
    assert result["ok"] is True and result["packages"][0]["state"] == "in_place" and result["moved"] == []
    assert result["pending"] == []


def test_pending_names_what_is_not_in_place():
    result = check_candidates(plan(("a", "1.0-2"), ("b", "2.0-1")),
                              {"a": offer("1.0-2", "1.0-2", ("1.0-2", True)), "b": offer("1.0-1", "2.0-1", ("2.0-1", True))})
    assert result["pending"] == ["b"]


def test_epoch_zero_is_the_same_version():
    result = check_candidates([{"name": "a", "version": "0:1.0-2"}], {"a": offer(None, "1.0-2", ("1.0-2", True))},
                              package_manager="dnf")
    assert result["packages"][0]["state"] == "current" and result["packages"][0]["planned"] == "1.0-2"


def test_dnf_order_and_epochs():
    libs = offer("1:1.0-1", "1:1.1-1", ("1:1.0-1", True), ("1:1.1-1", True))
    result = check_candidates(plan(("libs", "1:1.0-1")), {"libs": libs}, package_manager="dnf")
    assert result["packages"][0]["state"] == "in_place"
    seclib = offer("1.0-1", "1.0-10", ("1.0-2", True), ("1.0-10", True))
    result = check_candidates(plan(("seclib", "1.0-2")), {"seclib": seclib}, package_manager="dnf")
    assert result["moved"] == [{"name": "seclib", "planned": "1.0-2", "candidate": "1.0-10"}]


def test_several_findings_in_one_message():
    result = check_candidates(plan(("a", "1.0-1"), ("b", "2.0-1"), ("c", "3.0-1")),
                              {"a": offer(None, "1.1-1", ("1.1-1", True), ("1.0-1", True)),
                               "b": offer(None, "2.1-1", ("2.1-1", True))},
                              staged=plan(("b", "2.0-1")))
    assert result["message"].split(" | ") == [
        "plan versions gone from the repositories and not staged: c=3.0-1 (the repositories offer no version)",
        "the repositories moved on since the plan, the planned versions are installed: a plan 1.0-1, candidate 1.1-1",
        "no longer in the repositories, installed from the staged files: b=2.0-1"]


def test_nothing_planned_is_fine():
    assert check_candidates([], {})["ok"] is True


@pytest.mark.parametrize("planned, staged, manager, message", [
    ("x", [], "apt", r"planned must be a list of \{name, version\}, got str"),
    ([{"name": "a"}], [], "apt", r"planned\[0\] must be a mapping with a name and a version"),
    ([], ["a=1"], "apt", r"staged\[0\] must be a mapping"),
    ([], [], "zypper", r"package manager 'zypper': only apt and dnf are checked"),
])
def test_bad_input_is_one_clear_error(planned, staged, manager, message):
    with pytest.raises(CandidatesError, match=message):
        check_candidates(planned, {}, staged, manager)


def test_an_unreadable_version_is_one_clear_error():
    with pytest.raises(CandidatesError, match=r"a: cannot compare 'bad version' with the plan's '1.0-1'"):
        check_candidates(plan(("a", "1.0-1")), {"a": offer(None, "bad version", ("1.0-1", True))})
