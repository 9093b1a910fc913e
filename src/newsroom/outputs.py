"""Article and review files: safe names inside the output directory, written atomically.

``write_atomic`` is the product's one atomic writer (``newsroom.safeio``): files are created 0600,
and a target that is a symlink, device, FIFO or directory is refused.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

from newsroom.errors import ConfigError
from newsroom.safeio import write_atomic

SLUG_MAX = 60


def slugify(topic: str) -> str:
    """A file-name-safe slug: ASCII letters, digits and hyphens only, never empty, never a path.
    Other scripts are transliterated (电池回收 -> dianchihuishou, Москва -> moskva)."""
    from anyascii import anyascii

    ascii_text = anyascii(unicodedata.normalize("NFKC", topic)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:SLUG_MAX].rstrip("-") or "article"


def output_paths(out_dir: Path, topic: str, date: str, suffix: str = "") -> tuple[Path, Path]:
    out_dir = out_dir.resolve()
    stem = f"{date}-{slugify(topic)}{suffix}"
    article, review = out_dir / f"{stem}.md", out_dir / f"{stem}.review.json"
    for path in (article, review):
        if path.parent != out_dir:  # slugify makes this impossible; checked anyway
            raise ConfigError(f"refusing to write {str(path)!r} outside {str(out_dir)!r}")
    return article, review


def _taken(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def reserve_paths(out_dir: Path, topic: str, date: str, execution_id: str) -> tuple[Path, Path]:
    """Article and review paths no earlier file holds, the article's claimed by creating it empty
    (``O_EXCL``), so two runs can never pick the same name: ``<date>-<slug>``, else with the execution
    id's first eight characters, else with ``-2``, ``-3`` ... after that. Nothing is ever overwritten."""
    short = re.sub(r"[^A-Za-z0-9]", "", execution_id)[:8] or "run"
    for n in range(1, 1000):
        suffix = "" if n == 1 else f"-{short}" if n == 2 else f"-{short}-{n - 1}"
        article, review = output_paths(out_dir, topic, date, suffix)
        if _taken(article) or _taken(review):
            continue
        try:
            os.close(os.open(article, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600))
        except FileExistsError:
            continue
        return article, review
    raise ConfigError(f"{str(out_dir)!r} already holds a thousand articles named like {topic!r} today; "
                      "choose another --out")


def ensure_writable(directory: Path) -> Path:
    """Create ``directory`` if needed and prove we can write there, before any money is spent."""
    directory = directory.resolve()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise ConfigError(f"cannot write to {str(directory)!r} ({exc.strerror}); choose another --out") from None
    return directory


def write_json_atomic(path: Path, data: Any) -> None:
    write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
