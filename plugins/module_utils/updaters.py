# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Automatic updaters: which could run during a patch window, and how to pause and resume them.

An automatic updater (unattended-upgrades, dnf-automatic, PackageKit) that runs
while a host is patched takes the package manager's lock, installs versions the
plan did not name, or reboots into an offline update. Preflight reports them
(:func:`find_updaters`); when the policy says ``automatic_updaters: pause`` the
updaters role stops and masks their units for the run (``systemctl mask
--runtime``, gone at the next boot anyway) and puts back exactly what it changed
afterwards (:func:`pause_actions`, :func:`resume_actions`, :func:`restored`).

The host's state is read from ``systemctl show -p Id,LoadState,UnitFileState,ActiveState``
(:func:`parse_systemctl_show`), ``apt-config dump`` (:func:`parse_apt_config`) and
``/etc/dnf/automatic.conf`` (:func:`parse_dnf_automatic`).
"""

from __future__ import annotations

import configparser
import re

ACTIONS = ("report", "pause")

#: Each updater's units: timers that start it, jobs (the oneshot services that install)
#: and daemons. Timers and daemons are stopped when active; a running job is never stopped
#: (that would kill a package manager half-way), only masked so it does not start again.
APT_TIMER = "apt-daily-upgrade.timer"
DNF_TIMERS = {
    # timer: (its service, whether it installs whatever automatic.conf says)
    "dnf-automatic.timer": ("dnf-automatic.service", None),
    "dnf5-automatic.timer": ("dnf5-automatic.service", None),
    "dnf-automatic-install.timer": ("dnf-automatic-install.service", True),
}
PACKAGEKIT = "packagekit.service"
PACKAGEKIT_OFFLINE = "packagekit-offline-update.service"
UNITS = ([APT_TIMER, "apt-daily-upgrade.service", "unattended-upgrades.service"]
         + [u for timer, pair in DNF_TIMERS.items() for u in (timer, pair[0])]
         + [PACKAGEKIT, PACKAGEKIT_OFFLINE])
JOBS = {"apt-daily-upgrade.service", PACKAGEKIT_OFFLINE} | {pair[0] for pair in DNF_TIMERS.values()}
_RUNNING = ("active", "activating", "reloading")
_MASKED = ("masked", "masked-runtime")


class UpdatersError(Exception):
    """Input this module cannot use; the message says which and why."""


# ---------------------------------------------------------------------------
# Parsers
# ---------------------------------------------------------------------------

def parse_systemctl_show(text: str) -> dict:
    """``systemctl show -p Id,LoadState,UnitFileState,ActiveState -- UNIT...`` as ``{unit: {load, file, active}}``.

    Blocks are separated by blank lines, properties come in systemctl's own order.
    """
    units: dict = {}
    for block in re.split(r"\n\s*\n", text or ""):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if props.get("Id"):
            units[props["Id"]] = {"load": props.get("LoadState", ""), "file": props.get("UnitFileState", ""),
                                  "active": props.get("ActiveState", "")}
    return units


_APT_LINE = re.compile(r'^(\S+) "(.*)";\s*$')


def parse_apt_config(text: str) -> dict:
    """``apt-config dump`` as ``{key: value}`` (the last value of a key wins, as in apt)."""
    found = {}
    for line in (text or "").splitlines():
        match = _APT_LINE.match(line.strip())
        if match:
            found[match.group(1)] = match.group(2)
    return found


def parse_dnf_automatic(text: str) -> bool | None:
    """``[commands] apply_updates`` of ``/etc/dnf/automatic.conf``: True, False, or None when unreadable/unset."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text or "")
    except configparser.Error:
        return None
    value = parser.get("commands", "apply_updates", fallback=None)
    if value is None:
        return None
    return value.strip().lower() in ("yes", "true", "1", "on")


# ---------------------------------------------------------------------------
# Which updaters could run
# ---------------------------------------------------------------------------

def _can_fire(state: dict | None) -> bool:
    """A timer that fires on its own: loaded, not masked, and enabled or running."""
    if not state or state.get("load") != "loaded" or state.get("file") in _MASKED:
        return False
    return state.get("file", "").startswith("enabled") or state.get("active") in _RUNNING


def _loaded(state: dict | None) -> bool:
    return bool(state) and state.get("load") == "loaded" and state.get("file") not in _MASKED


def find_updaters(units: dict, apt_config: dict, dnf_apply_updates: bool | None = None,
                  offline_update: bool = False, action: str = "report") -> dict:
    """Which automatic updaters could run during the window: the preflight ``updaters`` outcome.

    * unattended-upgrades: its package is installed (``unattended-upgrades.service``
      is loaded), ``apt-daily-upgrade.timer`` can fire, and ``APT::Periodic::Unattended-Upgrade``
      is set and not ``0`` (unset means 0 for ``apt.systemd.daily``), with ``APT::Periodic::Enable``
      not ``0``;
    * dnf-automatic: ``dnf-automatic-install.timer`` can fire, or ``dnf-automatic.timer`` /
      ``dnf5-automatic.timer`` can and ``automatic.conf`` says ``apply_updates = yes``
      (unreadable counts as yes: it cannot be ruled out);
    * PackageKit: ``packagekit.service`` is loaded (any client may ask it to update over D-Bus),
      or an offline update is prepared (``/system-update``): it runs at the next boot, which
      may be the run's reboot.

    Returns ``{ok, flagged, action, updaters, units, message}``: ``ok`` is always true (a
    finding is reported, never a failure), ``units`` are the units a pause acts on.
    """
    if action not in ACTIONS:
        raise UpdatersError(f"automatic_updaters must be one of {', '.join(ACTIONS)}, got {action!r}")
    if not isinstance(units, dict) or not isinstance(apt_config, dict):
        raise UpdatersError("units and apt_config must be mappings (parse_systemctl_show, parse_apt_config)")
    found = []
    periodic = apt_config.get("APT::Periodic::Unattended-Upgrade", "0").strip() or "0"
    enabled = apt_config.get("APT::Periodic::Enable", "1").strip() != "0"
    if _loaded(units.get("unattended-upgrades.service")) and _can_fire(units.get(APT_TIMER)) \
            and periodic != "0" and enabled:
        found.append({"name": "unattended-upgrades", "units": [APT_TIMER, "apt-daily-upgrade.service"],
                      "reasons": [f"{APT_TIMER} {units[APT_TIMER]['file']}/{units[APT_TIMER]['active']}",
                                  f'APT::Periodic::Unattended-Upgrade "{periodic}"']})
    for timer, (service, installs) in DNF_TIMERS.items():
        if not _can_fire(units.get(timer)):
            continue
        if installs or dnf_apply_updates is not False:
            why = "installs" if installs else ("apply_updates = yes" if dnf_apply_updates else
                                               "automatic.conf unreadable, apply_updates unknown")
            found.append({"name": "dnf-automatic", "units": [timer, service],
                          "reasons": [f"{timer} {units[timer]['file']}/{units[timer]['active']}", why]})
    packagekit = []
    if _loaded(units.get(PACKAGEKIT)):
        packagekit.append(f"{PACKAGEKIT} {units[PACKAGEKIT]['file']}/{units[PACKAGEKIT]['active']} (D-Bus activated)")
    if offline_update:
        packagekit.append("an offline update is prepared (/system-update): it installs at the next boot")
    if packagekit:
        found.append({"name": "packagekit", "units": [PACKAGEKIT, PACKAGEKIT_OFFLINE], "reasons": packagekit})
    paused = [u for item in found for u in item["units"]]
    units_out = list(dict.fromkeys(paused))
    if found:
        names = "; ".join(f"{item['name']} ({', '.join(item['reasons'])})" for item in found)
        tail = "paused for the run (automatic_updaters: pause)" if action == "pause" \
            else "reported only (automatic_updaters: report)"
        message = f"automatic updaters that could run during the window: {names}; {tail}"
    else:
        message = "no automatic updater could run during the window"
    return {"ok": True, "flagged": bool(found), "action": action, "updaters": found, "units": units_out,
            "message": f"updaters: {message}"}


# ---------------------------------------------------------------------------
# Pause and resume
# ---------------------------------------------------------------------------

def _check_saved(saved) -> list:
    if saved in (None, "", {}):
        return []
    if not isinstance(saved, dict) or not isinstance(saved.get("paused", []), list):
        raise UpdatersError("the state file must be a mapping with a list 'paused'")
    if saved.get("resumed"):
        return []
    entries = saved.get("paused", [])
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in ("unit", "file", "active")) \
                or not isinstance(entry.get("masked"), bool) or not isinstance(entry.get("stopped"), bool):
            raise UpdatersError(f"the state file's paused[{index}] must be {{unit, file, active, masked, stopped}}")
    return entries


def pause_actions(units: dict, targets, saved=None) -> dict:
    """What pausing ``targets`` changes on a host whose units are ``units`` (parse_systemctl_show).

    A unit that is not loaded or already masked is left alone. A timer or daemon that is
    running is stopped (before it is masked: masking a running timer fails it); a job (the
    service that installs) is only masked, never stopped. ``saved`` is an earlier pause's
    state file of this run (a rerun): what it recorded is kept, so resume puts back the
    state from before the first pause, not the paused one. A state file marked ``resumed``
    starts afresh.

    Returns ``{stop, mask, state}``; ``state`` is the new state file ``{paused: [{unit,
    file, active, masked, stopped}], resumed: false}``.
    """
    if not isinstance(units, dict):
        raise UpdatersError("units must be a mapping (parse_systemctl_show)")
    if isinstance(targets, str) or not isinstance(targets, (list, tuple)):
        raise UpdatersError(f"the units to pause must be a list of unit names, got {targets!r}")
    kept = _check_saved(saved)
    done = {entry["unit"] for entry in kept}
    stop, mask, entries = [], [], list(kept)
    for unit in dict.fromkeys(targets):
        if not isinstance(unit, str) or not re.fullmatch(r"[A-Za-z0-9:_.@\\][A-Za-z0-9:_.@\\-]*\.(service|timer|path|socket)", unit):
            raise UpdatersError(f"not a unit name: {unit!r}")
        state = units.get(unit)
        if unit in done or not state or state.get("load") != "loaded" or state.get("file") in _MASKED:
            continue
        stopped = state.get("active") in _RUNNING and unit not in JOBS
        if stopped:
            stop.append(unit)
        mask.append(unit)
        entries.append({"unit": unit, "file": state.get("file", ""), "active": state.get("active", ""),
                        "masked": True, "stopped": stopped})
    return {"stop": stop, "mask": mask, "state": {"paused": entries, "resumed": False}}


def resume_actions(units: dict, saved) -> dict:
    """What resuming changes: ``{unmask, start}`` for the units a pause recorded in ``saved``.

    A unit the pause masked is unmasked while it is still runtime-masked (someone who
    masked it for good since is not overruled); a unit the pause stopped is started again
    unless it runs already.
    """
    if not isinstance(units, dict):
        raise UpdatersError("units must be a mapping (parse_systemctl_show)")
    entries = _check_saved(saved)
    unmask = [e["unit"] for e in entries if e["masked"] and units.get(e["unit"], {}).get("file") == "masked-runtime"]
    start = [e["unit"] for e in entries if e["stopped"] and units.get(e["unit"], {}).get("active") not in _RUNNING]
    return {"unmask": unmask, "start": start}


def restored(units: dict, saved) -> list[str]:
    """What differs, after resume, from the state the pause recorded: one line per unit, empty when restored.

    The unit file state must be the one from before (``enabled``, ``static`` ...); a unit the
    pause stopped must run again. A job's own activity (it ran and ended) is not compared.
    """
    if not isinstance(units, dict):
        raise UpdatersError("units must be a mapping (parse_systemctl_show)")
    problems = []
    for entry in _check_saved(saved):
        now = units.get(entry["unit"], {})
        if now.get("file", "") != entry["file"]:
            problems.append(f"{entry['unit']}: unit file {now.get('file') or 'unknown'}, was {entry['file']}")
        if entry["stopped"] and now.get("active") not in _RUNNING:
            problems.append(f"{entry['unit']}: {now.get('active') or 'unknown'}, was {entry['active']}")
    return problems
