"""The user's sources (``--sources FILE_OR_DIR``): notes, figures and quotes as text or markdown."""

from __future__ import annotations

import os
import re
from pathlib import Path

from newsroom.errors import ConfigError
from newsroom.safeio import read_text_file
from newsroom.stages.models import Source

SUFFIXES = (".md", ".markdown", ".txt")
MAX_BYTES = 200_000
MAX_FILES = 20


def load_sources(path: Path | str | None) -> list[Source]:
    """Read sources; a bad path or file is a ``ConfigError`` that names it.

    A file is read only if it is a regular file of at most ``MAX_BYTES`` (``safeio.read_text_file``:
    a FIFO, device or sparse giant is refused before it is read). In a directory, a symlink that
    leads outside the directory is refused, never followed.
    """
    if path is None:
        return []
    root = Path(path)
    if not os.path.lexists(root):
        raise ConfigError(f"--sources {str(root)!r} does not exist")
    in_dir = root.is_dir()  # a file the user named may be a link; links inside a directory are checked
    files = _files_in(root) if in_dir else [(root, root)]
    if not files:
        raise ConfigError(f"--sources {str(root)!r} holds no .md or .txt files")
    if len(files) > MAX_FILES:
        raise ConfigError(f"--sources {str(root)!r} holds {len(files)} files; the limit is {MAX_FILES}")
    return [_read(shown, real, i, follow=not in_dir) for i, (shown, real) in enumerate(files, start=1)]


def _files_in(root: Path) -> list[tuple[Path, Path]]:
    """(the path as listed, the path to read) of every source file under ``root``, sorted."""
    inside = root.resolve()
    files = []
    for path in sorted(root.rglob("*")):  # rglob never descends into a symlinked directory
        if path.suffix.lower() not in SUFFIXES:
            continue
        real = path
        if path.is_symlink():
            real = path.resolve()
            if not real.is_relative_to(inside):
                raise ConfigError(f"source {str(path)!r} is a symbolic link to {str(real)!r}, outside "
                                  f"{str(root)!r}; copy the file into the sources directory instead")
        if not real.is_dir():
            files.append((path, real))
    return files


def _read(path: Path, real: Path, index: int, *, follow: bool) -> Source:
    text = read_text_file(real, limit=MAX_BYTES, what="source", hint="give --sources text or Markdown files",
                          follow_symlinks=follow)
    heading = re.match(r"\s*#\s+(.+)", text)
    # Whitespace folded within paragraphs, the paragraphs kept (the writer's chunks follow them).
    text = "\n\n".join(" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip())
    if not text:
        raise ConfigError(f"source {str(path)!r} is empty")
    title = heading.group(1).strip()[:80] if heading else path.stem.replace("_", " ").replace("-", " ")
    return Source(id=f"S{index}", title=title, path=path.name, text=text)
