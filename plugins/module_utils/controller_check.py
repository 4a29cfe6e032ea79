# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Does the controller run the playbooks the way they rely on? (``playbooks/controller_check.yml``)

Plain Python, no Ansible runtime; the ``controller_check`` action asks
:func:`controller_verdict` with what the play read from the Ansible
configuration (``ansible.builtin.config`` lookups) and the inventory.

The repository's ``ansible.cfg`` sets what the playbooks rely on, but it is not
read when the collection is installed from its tarball, when a clone is run
from another directory, or under AWX. So the entry playbooks check it first:

* an inventory that gave no hosts is an error (an unparsable source leaves
  Ansible with the implicit localhost only, and every play would be skipped
  with exit code 0: a run that silently does nothing);
* unless ``inventory.any_unparsed_is_failed`` is on (then Ansible itself
  fails on an unparsable source), an inventory source that gave no host of its
  own is an error: it could not be parsed, it is empty, or every host in it was
  named by an earlier source first. The operator may allow it
  (``allow_sources_without_hosts``);
* host key checking off is an error unless the operator allows it
  (``allow_host_key_checking_off``): the playbooks become root on the hosts;
* results printed in another format than YAML (the default callback's
  ``result_format``) are a warning: multi-line output (apt's, diffs) is hard
  to read as JSON strings.
"""

from __future__ import annotations

__all__ = ["controller_verdict", "sources_without_hosts"]


def sources_without_hosts(sources: list, host_sources: list) -> list:
    """The inventory sources (``ansible_inventory_sources``) that no host came from.

    ``host_sources`` holds each host's ``inventory_file``: the source (a file,
    a file inside a directory source, or a host list string) the host was first
    read from.
    """
    seen = [str(path) for path in host_sources if path]
    empty = []
    for source in sources:
        source = str(source)
        inside = source.rstrip("/") + "/"
        if not any(path == source or path.startswith(inside) for path in seen):
            empty.append(source)
    return empty


def _flag(value) -> bool:
    """A configuration value as a boolean (the config lookup gives booleans; extra vars may give strings)."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y", "t")
    return bool(value)


def controller_verdict(*, sources: list, host_sources: list, hosts_required: bool = True,
                       any_unparsed_is_failed=False, host_key_checking=True, result_format=None,
                       allow_sources_without_hosts=False, allow_host_key_checking_off=False) -> dict:
    """What to say before a run: {ok, errors: [...], warnings: [...], msg}.

    ``result_format``: the stdout callback's ``result_format`` option, or
    None/empty when the callback has none (then nothing is said about it).
    ``hosts_required`` false (a run closed by its id) allows an inventory
    without hosts.
    """
    errors, warnings = [], []
    named = ", ".join(str(source) for source in sources) or "none"
    if hosts_required and not host_sources:
        errors.append(
            f"the inventory ({named}) gave no hosts: a source could not be parsed (see the warnings above) "
            "or is empty, and every play would be skipped; name an inventory with hosts (-i)")
    elif hosts_required and not _flag(any_unparsed_is_failed) and not _flag(allow_sources_without_hosts):
        empty = sources_without_hosts(sources, host_sources)
        if empty:
            errors.append(
                f"inventory source {', '.join(empty)} gave no hosts of its own: it could not be parsed "
                "(see the warnings above), is empty, or names only hosts of an earlier source; fix it, "
                "or allow it with -e patchpilot_allow_sources_without_hosts=true "
                "(with ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true Ansible itself fails on a source it cannot parse)")
    if not _flag(host_key_checking) and not _flag(allow_host_key_checking_off):
        errors.append(
            "host key checking is off (host_key_checking, ANSIBLE_HOST_KEY_CHECKING): the playbooks become root "
            "on the hosts they reach, so their keys must be known; turn it on, or say that it is meant with "
            "-e patchpilot_allow_host_key_checking_off=true")
    if isinstance(result_format, str) and result_format.strip() and result_format.strip().lower() != "yaml":
        warnings.append(
            f"results are printed as {result_format.strip()}, not YAML: multi-line output (apt, diffs) is hard to read; "
            "set ANSIBLE_CALLBACK_RESULT_FORMAT=yaml (or callback_result_format = yaml in ansible.cfg)")
    return {"ok": not errors, "errors": errors, "warnings": warnings, "msg": "; ".join(errors)}
