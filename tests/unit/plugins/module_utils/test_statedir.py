"""statedir: where the state and the reports live, made private, and the upgrade from 0.1's reports/."""

from __future__ import annotations

import json
import os
import pwd
import stat

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils import statedir
from ansible_collections.patchpilot.fleet.plugins.module_utils.statedir import StateDirError

USER = 1000


# ---------------------------------------------------------------------------
# resolve
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("variables, env, euid, state, source", [
    ({"state_dir": "/srv/pp"}, {"PATCHPILOT_STATE_DIR": "/env/pp", "HOME": "/home/u"}, 0, "/srv/pp",
     "patchpilot_state_dir"),
    ({}, {"PATCHPILOT_STATE_DIR": "/env/pp", "XDG_STATE_HOME": "/x"}, 0, "/env/pp", "PATCHPILOT_STATE_DIR"),
    ({}, {"XDG_STATE_HOME": "/x", "HOME": "/root"}, 0, "/var/lib/patchpilot", "root"),
    ({}, {"XDG_STATE_HOME": "/x/state/", "HOME": "/home/u"}, USER, "/x/state/patchpilot", "XDG_STATE_HOME"),
    ({}, {"XDG_STATE_HOME": "rel/state", "HOME": "/home/u"}, USER, "/home/u/.local/state/patchpilot", "home"),
    ({}, {"HOME": "/home/u"}, USER, "/home/u/.local/state/patchpilot", "home"),
    ({"state_dir": "", "report_dir": None}, {"HOME": "/home/u"}, USER, "/home/u/.local/state/patchpilot", "home"),
    ({"state_dir": "~/pp"}, {"HOME": "/home/u"}, USER, "/home/u/pp", "patchpilot_state_dir"),
    ({"state_dir": "/srv/pp/../pp2/"}, {}, USER, "/srv/pp2", "patchpilot_state_dir"),
])
def test_the_state_dir_is_the_first_found(variables, env, euid, state, source):
    dirs = statedir.resolve(variables, env, euid)
    assert (dirs["state_dir"], dirs["source"]) == (state, source)
    assert dirs["run_base"] == f"{state}/runs" and dirs["locks_dir"] == f"{state}/runs/locks"
    assert dirs["plan_dir"] == f"{state}/plans"
    assert dirs["report_dir"] == f"{state}/reports" and dirs["scan_dir"] == f"{state}/reports/scan"


def test_without_home_the_password_database_names_it():
    entry = next(user for user in pwd.getpwall() if user.pw_uid != 0)  # root's state is /var/lib/patchpilot
    dirs = statedir.resolve({}, {"PATH": "/usr/bin"}, entry.pw_uid)
    assert dirs["state_dir"] == os.path.join(entry.pw_dir, ".local", "state", "patchpilot")


def test_an_unknown_user_without_home_is_told_to_name_the_state_dir():
    unknown = max(user.pw_uid for user in pwd.getpwall()) + 12345
    with pytest.raises(StateDirError, match="HOME is not set and user id .* set patchpilot_state_dir"):
        statedir.resolve({}, {}, unknown)


def test_the_report_dir_and_the_old_overrides():
    env = {"PATCHPILOT_REPORT_DIR": "/env/reports", "HOME": "/home/u"}
    assert statedir.resolve({"state_dir": "/s"}, env, USER)["scan_dir"] == "/env/reports/scan"
    dirs = statedir.resolve({"state_dir": "/s", "report_dir": "/r", "run_base": "/old/runs", "plan_dir": "/old/plans"},
                            env, USER)
    assert dirs["report_dir"] == "/r" and dirs["scan_dir"] == "/r/scan"
    assert dirs["run_base"] == "/old/runs" and dirs["locks_dir"] == "/old/runs/locks"
    assert dirs["plan_dir"] == "/old/plans"


@pytest.mark.parametrize("variables, env, name", [
    ({"state_dir": "reports"}, {}, "patchpilot_state_dir"),
    ({}, {"PATCHPILOT_STATE_DIR": "./state"}, "PATCHPILOT_STATE_DIR"),
    ({"state_dir": "/s", "report_dir": "out"}, {}, "patchpilot_report_dir"),
    ({"state_dir": "/s"}, {"PATCHPILOT_REPORT_DIR": "out"}, "PATCHPILOT_REPORT_DIR"),
    ({"state_dir": "/s", "run_base": "runs"}, {}, "patchpilot_run_base"),
    ({"state_dir": "/s", "plan_dir": "plans"}, {}, "patchpilot_plan_dir"),
])
def test_a_relative_path_is_refused(variables, env, name):
    with pytest.raises(StateDirError, match=f"{name} is .*, a relative path: give an absolute path"):
        statedir.resolve(variables, dict(env, HOME="/home/u"), USER)


# ---------------------------------------------------------------------------
# ensure_private
# ---------------------------------------------------------------------------

def test_a_missing_dir_is_made_0700_with_its_parents(tmp_path):
    old = os.umask(0o000)
    try:
        folder = tmp_path / "a" / "b" / "state"
        assert statedir.ensure_private(str(folder), "state directory") is True
    finally:
        os.umask(old)
    for path in (tmp_path / "a", tmp_path / "a" / "b", folder):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
    assert statedir.ensure_private(str(folder), "state directory") is False  # there: left as it is


def test_a_dir_others_may_write_is_refused_with_the_fix(tmp_path):
    folder = tmp_path / "state"
    folder.mkdir()
    folder.chmod(0o775)
    with pytest.raises(StateDirError, match=rf"{folder}: the state directory may be written by group or others"
                                            r" \(mode 0775\); refused: .*chmod 700"):
        statedir.ensure_private(str(folder), "state directory")
    folder.chmod(0o755)
    assert statedir.ensure_private(str(folder), "state directory") is False


def test_a_dir_of_another_user_is_refused(tmp_path):
    folder = tmp_path / "state"
    folder.mkdir(mode=0o700)
    if os.geteuid() == 0:  # root: give it to somebody else
        os.chown(folder, 4242, -1)
    owner = folder.stat().st_uid
    other = os.geteuid() if os.geteuid() == 0 else owner + 4242
    with pytest.raises(StateDirError, match=rf"{folder}: the report directory belongs to user id {owner}, not to"
                                            rf" this user \({other}\) or root; refused: chown"):
        statedir.ensure_private(str(folder), "report directory", euid=other)


def test_a_file_in_the_way_is_refused(tmp_path):
    (tmp_path / "state").write_text("")
    with pytest.raises(StateDirError, match="the state directory is not a folder"):
        statedir.ensure_private(str(tmp_path / "state"), "state directory")


# ---------------------------------------------------------------------------
# the upgrade from 0.1
# ---------------------------------------------------------------------------

def old_layout(root):
    """0.1's reports/: a run with its lock, a plan, a scan."""
    legacy = root / "reports"
    (legacy / "runs" / "20261101T000000Z-aaaaaa").mkdir(parents=True)
    (legacy / "runs" / "20261101T000000Z-aaaaaa" / "run.json").write_text('{"format": 1}')
    (legacy / "runs" / "locks").mkdir()
    (legacy / "runs" / "locks" / "abc.lock").write_text("{}")
    (legacy / "plans").mkdir()
    (legacy / "plans" / "latest.json").write_text('{"format": 2}')
    (legacy / "scan").mkdir()
    (legacy / "scan" / "updates.csv").write_text("host\n")
    return legacy


def new_dirs(root, **over):
    dirs = statedir.resolve(dict({"state_dir": str(root / "state"), "report_dir": str(root / "rep")}, **over), {},
                            USER)
    statedir.ensure_private(dirs["state_dir"], "state directory")
    statedir.ensure_private(dirs["report_dir"], "report directory")
    return dirs


def test_the_old_layout_moves_once(tmp_path):
    legacy, dirs = old_layout(tmp_path), new_dirs(tmp_path)
    planned = statedir.migrate(dirs, str(legacy), check=True)
    assert [move["item"] for move in planned] == ["runs", "plans", "scan"]
    assert (legacy / "runs").exists() and not os.path.exists(dirs["run_base"])  # check mode moves nothing

    moved = statedir.migrate(dirs, str(legacy))
    assert moved == [{"item": "runs", "from": str(legacy / "runs"), "to": dirs["run_base"]},
                     {"item": "plans", "from": str(legacy / "plans"), "to": dirs["plan_dir"]},
                     {"item": "scan", "from": str(legacy / "scan"), "to": dirs["scan_dir"]}]
    assert json.loads((tmp_path / "state" / "runs" / "20261101T000000Z-aaaaaa" / "run.json").read_text())
    assert (tmp_path / "state" / "runs" / "locks" / "abc.lock").exists()
    assert (tmp_path / "state" / "plans" / "latest.json").exists()
    assert (tmp_path / "rep" / "scan" / "updates.csv").exists()
    assert not (legacy / "runs").exists() and not (legacy / "plans").exists() and not (legacy / "scan").exists()
    marker = json.loads((tmp_path / "state" / statedir.MARKER).read_text())
    assert marker["from"] == str(legacy) and marker["moved"] == moved

    # once: a reports/ made again later (an old patchpilot run again) is not looked at
    (legacy / "plans").mkdir()
    (legacy / "plans" / "other.json").write_text("{}")
    assert statedir.migrate(dirs, str(legacy)) == []
    assert (legacy / "plans" / "other.json").exists()


def test_into_existing_dirs_entries_move_one_by_one(tmp_path):
    legacy, dirs = old_layout(tmp_path), new_dirs(tmp_path)
    os.makedirs(os.path.join(dirs["run_base"], "locks"))
    os.makedirs(os.path.join(dirs["run_base"], "20261201T000000Z-bbbbbb"))
    moved = statedir.migrate(dirs, str(legacy))
    assert [move["item"] for move in moved] == ["runs", "plans", "scan", "runs/locks"]
    assert sorted(os.listdir(dirs["run_base"])) == ["20261101T000000Z-aaaaaa", "20261201T000000Z-bbbbbb", "locks"]
    assert os.listdir(dirs["locks_dir"]) == ["abc.lock"]


def test_a_name_clash_refuses_the_upgrade_and_moves_nothing(tmp_path):
    legacy, dirs = old_layout(tmp_path), new_dirs(tmp_path)
    os.makedirs(dirs["plan_dir"])
    with open(os.path.join(dirs["plan_dir"], "latest.json"), "w", encoding="utf-8") as handle:
        handle.write('{"format": 2, "new": true}')
    os.makedirs(dirs["locks_dir"])
    with open(os.path.join(dirs["locks_dir"], "abc.lock"), "w", encoding="utf-8") as handle:
        handle.write("{}")
    with pytest.raises(StateDirError, match=r"upgrade from patchpilot 0.1 refused: .* both hold .*plans/latest.json,"
                                            r" .*runs/locks/abc.lock; nothing was moved and nothing is overwritten"):
        statedir.migrate(dirs, str(legacy))
    assert json.loads(open(os.path.join(dirs["plan_dir"], "latest.json"), encoding="utf-8").read())["new"]
    assert (legacy / "runs" / "20261101T000000Z-aaaaaa" / "run.json").exists()
    assert (legacy / "plans" / "latest.json").exists() and (legacy / "scan" / "updates.csv").exists()
    assert not os.path.exists(os.path.join(dirs["state_dir"], statedir.MARKER))


def test_nothing_to_upgrade(tmp_path):
    dirs = new_dirs(tmp_path)
    assert statedir.migrate(dirs, str(tmp_path / "reports")) == []
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "notes.txt").write_text("mine")
    assert statedir.migrate(dirs, str(tmp_path / "reports")) == []
    assert not os.path.exists(os.path.join(dirs["state_dir"], statedir.MARKER))


def test_old_overrides_that_point_at_the_old_place_stay(tmp_path):
    legacy = old_layout(tmp_path)
    dirs = new_dirs(tmp_path, run_base=str(legacy / "runs"), plan_dir=str(legacy / "plans"),
                    report_dir=str(legacy))
    assert statedir.migrate(dirs, str(legacy)) == []
    assert (legacy / "runs" / "locks" / "abc.lock").exists()


def test_an_old_item_that_is_no_folder_is_refused(tmp_path):
    dirs = new_dirs(tmp_path)
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "runs").write_text("")
    with pytest.raises(StateDirError, match=r"reports/runs: found in patchpilot 0.1's .* not a folder"):
        statedir.migrate(dirs, str(tmp_path / "reports"))


@pytest.mark.parametrize("variables, env, found", [
    ({"legacy_dir": "/old/reports"}, {"PWD": "/work"}, "/old/reports"),
    ({}, {"PWD": "/work"}, "/work/reports"),
    ({}, {}, "/reports"),
])
def test_where_0_1_wrote(variables, env, found):
    assert statedir.legacy_dir(variables, env) == found


def test_a_relative_legacy_dir_is_refused():
    with pytest.raises(StateDirError, match="patchpilot_legacy_dir is 'reports', a relative path"):
        statedir.legacy_dir({"legacy_dir": "reports"}, {})
