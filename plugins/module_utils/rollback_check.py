# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Did the rollback restore the previous state? The verdict on the versions, apart from the host's health.

A rollback's outcome is two facts, recorded separately: the versions are back
(or not), decided here from the snapshot's baseline and the installed package
records; and the host is healthy (or not), decided by the health checks that
run after it. A host whose versions are back and whose health check failed
(it failed before the patch too) is rolled back, unhealthy: not a failed
rollback.
"""

from __future__ import annotations

from ansible_collections.patchpilot.fleet.plugins.module_utils.installed_packages import by_name, same_version

__all__ = ["command_steps", "rollback_check", "rollback_outcomes", "rollback_record", "touched_names"]


def touched_names(snapshot: dict, entry: dict, kept=()) -> list:
    """Names whose difference from the baseline fails the rollback: planned, removed or reinstalled ones."""
    entry = entry or {}
    names = list(snapshot.get("plan_packages") or ())
    names += [p["name"] for p in entry.get("packages") or () if isinstance(p, dict) and p.get("name")]
    names += [r if isinstance(r, str) else r.get("name") for r in entry.get("removals") or ()
              if isinstance(r, str) or isinstance(r, dict) and r.get("name")]
    names += [k["name"] for k in kept or () if isinstance(k, dict) and k.get("name")]
    return list(dict.fromkeys(names))


def rollback_check(baseline: dict, records: list, touched=()) -> dict:
    """The installed packages (``records``) against the baseline ({name: version}).

    Every difference is {name, expected, actual, status, text}. One in a touched
    package, or in a package the baseline did not have (the patch added it), is a
    mismatch: the versions are not restored. Others are reported only.

    {versions_restored, mismatches, other_differences, message}
    """
    baseline = baseline or {}
    now = {n: r for n, r in by_name(records).items() if r["present"]}
    touched = set(touched) | (set(now) - set(baseline))
    differences = []
    for name in sorted(set(baseline) | set(now)):
        want = baseline.get(name)
        record = now.get(name)
        have = record["version"] if record else None
        status = record["abbrev"] if record else "not installed"
        clean = record is None or record["abbrev"] in ("ii", "hi")
        if (want is None) != (have is None) or not same_version(want, have) or not clean:
            differences.append({
                "name": name, "expected": want, "actual": have, "status": status,
                "text": f"{name} {want or 'absent'} expected, {have or 'absent'} found"
                        + ("" if clean else f" ({status})"),
            })
    mismatches = [d for d in differences if d["name"] in touched]
    others = [d for d in differences if d["name"] not in touched]
    message = (f"{len(mismatches)} mismatch(es) in planned packages"
               + (": " + "; ".join(d["text"] for d in mismatches) if mismatches else "")
               + f"; {len(others)} other difference(s)"
               + (": " + "; ".join(d["text"] for d in others) if others else ""))
    return {"versions_restored": not mismatches, "mismatches": mismatches, "other_differences": others,
            "message": message}


def rollback_record(result, unhealthy=None, failed_checks=()) -> dict:
    """The detail recorded with ``rolled_back``: the rollback role's result and its two facts.

    ``result`` is rollback_result (versions_restored true unless it says false: the
    role fails the host otherwise); ``unhealthy`` the health check's message when the
    check after the rollback failed, else None; ``failed_checks`` that check's failures.
    """
    detail = dict(result) if isinstance(result, dict) else {}
    healthy = unhealthy is None
    detail.update(versions_restored=detail.get("versions_restored", True) is not False, healthy=healthy,
                  health_message=None if healthy else str(unhealthy),
                  failed_checks=[] if healthy else list(failed_checks or ()))
    return detail


def rollback_outcomes(records: dict) -> dict:
    """{host: {versions_restored, healthy}} of the hosts whose run record says ``rolled_back``.

    Read from the detail of the host's latest history entry; a record written
    before the two facts were recorded counts as restored and healthy (that was
    the only way to reach ``rolled_back`` then).
    """
    out = {}
    for host, record in (records or {}).items():
        if record.get("phase") != "rolled_back":
            continue
        history = record.get("history") or ()
        detail = history[-1].get("detail") if history else None
        detail = detail if isinstance(detail, dict) else {}
        out[host] = {"versions_restored": detail.get("versions_restored", True) is not False,
                     "healthy": detail.get("healthy", True) is not False}
    return out


def command_steps(results: list, limit: int = 3000) -> list:
    """Looped command results (each item {argv, note}) as rollback steps: [{step, rc, output}]."""
    steps = []
    for res in results or ():
        item = res.get("item") or {}
        output = (str(res.get("stdout") or "") + "\n" + str(res.get("stderr") or "")).strip()
        if len(output) > limit:
            output = output[: max(limit - 4, 0)] + " ..."
        steps.append({"step": " ".join(str(a) for a in item.get("argv") or ()) + f" ({item.get('note', '')})",
                      "rc": res.get("rc"), "output": output})
    return steps
