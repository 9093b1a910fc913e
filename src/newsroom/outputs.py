"""Article and review files: safe names inside the output directory, written atomically."""

from __future__ import annotations

import json
import os
import re
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

from newsroom.errors import ConfigError

SLUG_MAX = 60


def slugify(topic: str) -> str:
    """A file-name-safe slug: ASCII letters, digits and hyphens only, never empty, never a path."""
    ascii_text = unicodedata.normalize("NFKD", topic).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:SLUG_MAX].rstrip("-") or "article"


def output_paths(out_dir: Path, topic: str, date: str) -> tuple[Path, Path]:
    out_dir = out_dir.resolve()
    stem = f"{date}-{slugify(topic)}"
    article, review = out_dir / f"{stem}.md", out_dir / f"{stem}.review.json"
    for path in (article, review):
        if path.parent != out_dir:  # slugify makes this impossible; checked anyway
            raise ConfigError(f"refusing to write {str(path)!r} outside {str(out_dir)!r}")
    return article, review


def write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path`` and rename it over: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
