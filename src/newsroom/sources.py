"""The user's sources (``--sources FILE_OR_DIR``): notes, figures and quotes as text or markdown."""

from __future__ import annotations

import re
from pathlib import Path

from newsroom.errors import ConfigError
from newsroom.stages.models import Source

SUFFIXES = (".md", ".markdown", ".txt")
MAX_BYTES = 200_000
MAX_FILES = 20


def load_sources(path: Path | str | None) -> list[Source]:
    """Read sources; a bad path or file is a ``ConfigError`` that names it."""
    if path is None:
        return []
    root = Path(path)
    if not root.exists():
        raise ConfigError(f"--sources {str(root)!r} does not exist")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES) \
        if root.is_dir() else [root]
    if not files:
        raise ConfigError(f"--sources {str(root)!r} holds no .md or .txt files")
    if len(files) > MAX_FILES:
        raise ConfigError(f"--sources {str(root)!r} holds {len(files)} files; the limit is {MAX_FILES}")
    return [_read(p, i) for i, p in enumerate(files, start=1)]


def _read(path: Path, index: int) -> Source:
    data = path.read_bytes()
    if len(data) > MAX_BYTES:
        raise ConfigError(f"source {str(path)!r} is {len(data)} bytes; the limit is {MAX_BYTES}")
    if b"\0" in data:
        raise ConfigError(f"source {str(path)!r} is a binary file; give text or markdown")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"source {str(path)!r} is not UTF-8 text; re-save it as UTF-8") from None
    heading = re.match(r"\s*#\s+(.+)", text)
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        raise ConfigError(f"source {str(path)!r} is empty")
    title = heading.group(1).strip()[:80] if heading else path.stem.replace("_", " ").replace("-", " ")
    return Source(id=f"S{index}", title=title, path=path.name, text=text)
