# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The file formats' one verdict a reader needs first: was this written by a newer patchpilot?

Plain Python. Every file the controller keeps (run records, host records, run locks, plans)
carries ``format``, a whole number; a reader knows some of them. One newer than any it
knows was written by a newer patchpilot: the reader refuses it with this message rather
than guess (an older one may not understand what it would change). The readers' other
refusals (an older format, no format) keep their own messages.
"""

from __future__ import annotations

__all__ = ["newer_format"]


def newer_format(data, known, kind: str) -> str | None:
    """The refusal when ``data`` (a dict read from a file) has a format newer than all of ``known``; else None.

    ``known`` is the format or formats this patchpilot reads; ``kind`` names the file
    ("run record", "plan", ...).
    """
    known = tuple(known) if isinstance(known, (tuple, list, set, frozenset)) else (known,)
    found = data.get("format") if isinstance(data, dict) else None
    if isinstance(found, bool) or not isinstance(found, int) or found <= max(known):
        return None
    reads = ", ".join(str(value) for value in sorted(known))
    expected = reads if len(known) == 1 else f"one of {reads}"
    return (f"{kind} format {found} is not {expected}: written by a newer patchpilot (this one reads {kind} format"
            f" {reads}); use that patchpilot version or a newer one, never edit the file down")
