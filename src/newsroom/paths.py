"""Where the packaged crews, flows and house-style pack live.

In a wheel they ship as package data under ``newsroom/_data``; in a source checkout (editable
install) they sit at the top of the repository, as the design card lays out.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the default ``crews``, ``flows`` or ``knowledge`` directory."""
    packaged = _PACKAGE / "_data" / name
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parent.parent / name
