"""Every file a user names (``--sources``, the batch topics file, ``newsroom.toml``, ``check FILE``) is
read through ``safeio.read_text_file``: FIFOs, devices and sparse giants are refused fast, never read.

The /dev/zero cases run in a child process with a 2 GB address-space limit: a reader that regressed
to reading it whole fails there with MemoryError in a second, instead of eating the machine's memory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from newsroom.batch import read_topics
from newsroom.config import Settings
from newsroom.errors import ConfigError
from newsroom.sources import load_sources
from newsroom.style.checker import read_article


def _settings(path: Path) -> Any:
    """Settings.load reads the workspace's newsroom.toml: make ``path`` be it."""
    toml = path.parent / "ws" / "newsroom.toml"
    toml.parent.mkdir(exist_ok=True)
    toml.symlink_to(path)
    return Settings.load(workspace=toml.parent)


READERS: dict[str, tuple[Callable[[Path], Any], str]] = {
    "sources": (load_sources, "source"),
    "topics": (read_topics, "topics file"),
    "newsroom.toml": (_settings, "settings file"),
    "check": (read_article, ""),
}
ZERO_CHILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
from newsroom.batch import read_topics
from newsroom.config import Settings
from newsroom.errors import ConfigError
from newsroom.sources import load_sources
from newsroom.style.checker import read_article
reader = {"sources": load_sources, "topics": read_topics, "check": read_article,
          "newsroom.toml": lambda p: Settings.load(workspace=sys.argv[3])}[sys.argv[1]]
try:
    reader(sys.argv[2])
except ConfigError as exc:
    print("ConfigError:", exc)
"""


@pytest.mark.timeout(10)
@pytest.mark.parametrize("reader", list(READERS))
def test_a_fifo_is_refused_at_once(tmp_path: Path, reader: str) -> None:
    fifo = tmp_path / "input.md"
    os.mkfifo(fifo)
    read, what = READERS[reader]
    started = time.monotonic()
    with pytest.raises(ConfigError, match=r"is a FIFO \(named pipe\), not a regular file; ") as caught:
        read(fifo)
    assert time.monotonic() - started < 2
    assert str(caught.value).startswith(f"{what} " if what else "'")


@pytest.mark.timeout(20)
@pytest.mark.parametrize("reader", list(READERS))
def test_a_sparse_gigabyte_is_refused_by_its_size(tmp_path: Path, reader: str) -> None:
    huge = tmp_path / "huge.md"
    with huge.open("wb") as fh:
        fh.truncate(1 << 30)
    read, _ = READERS[reader]
    started = time.monotonic()
    with pytest.raises(ConfigError, match=r"'.*(huge\.md|newsroom\.toml)' is 1\.1 GB; the limit is \d+(\.\d)? [KM]B"):
        read(huge)
    assert time.monotonic() - started < 2


@pytest.mark.timeout(60)
@pytest.mark.parametrize("reader", list(READERS))
def test_dev_zero_is_refused_without_reading_it(tmp_path: Path, reader: str) -> None:
    path, workspace = "/dev/zero", tmp_path / "ws"
    workspace.mkdir()
    if reader == "newsroom.toml":
        (workspace / "newsroom.toml").symlink_to("/dev/zero")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", ZERO_CHILD, reader, path, str(workspace)], capture_output=True,
                          text=True, env=env, timeout=50)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "is a character device, not a regular file" in done.stdout
    assert time.monotonic() - started < 30


# -- a sources directory ----------------------------------------------------------------------------
def test_a_symlink_out_of_the_sources_directory_is_refused_and_never_read(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.md").write_text("# Agency figures\nShipments rose 38%.")
    secret = tmp_path / "private" / "id_rsa.md"
    secret.parent.mkdir()
    secret.write_text("PRIVATE KEY MATERIAL")
    (notes / "b.md").symlink_to(secret)
    with pytest.raises(ConfigError) as caught:
        load_sources(notes)
    assert str(caught.value) == (f"source {str(notes / 'b.md')!r} is a symbolic link to {str(secret)!r}, outside "
                                 f"{str(notes)!r}; copy the file into the sources directory instead")


def test_a_symlink_to_a_fifo_outside_does_not_hang(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    os.mkfifo(tmp_path / "pipe")
    (notes / "pipe.md").symlink_to(tmp_path / "pipe")
    with pytest.raises(ConfigError, match="outside"):
        load_sources(notes)


def test_links_that_stay_inside_and_linked_directories(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    (notes / "sub").mkdir(parents=True)
    (notes / "sub" / "real.md").write_text("# Real notes\nA figure.")
    (notes / "alias.md").symlink_to(notes / "sub" / "real.md")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("SECRET")
    (notes / "elsewhere").symlink_to(outside)  # a linked directory is not walked into
    sources = load_sources(notes)
    assert [(s.path, s.title) for s in sources] == [("alias.md", "Real notes"), ("real.md", "Real notes")]
    assert all("SECRET" not in s.text for s in sources)


def test_a_fifo_inside_the_sources_directory_is_refused(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.md").write_text("fine")
    os.mkfifo(notes / "b.md")
    with pytest.raises(ConfigError, match=r"source '.*b\.md' is a FIFO \(named pipe\), not a regular file"):
        load_sources(notes)


def test_load_sources_folds_spaces_and_keeps_paragraphs(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "b_figures.txt").write_text("Rates rose   by\n\n2%.", encoding="utf-8")
    (notes / "a.md").write_text("# Agency notes\nThe agency said so.", encoding="utf-8")
    sources = load_sources(notes)
    assert [(s.id, s.title, s.path, s.text) for s in sources] == [
        ("S1", "Agency notes", "a.md", "# Agency notes The agency said so."),
        ("S2", "b figures", "b_figures.txt", "Rates rose by\n\n2%.")]


def test_a_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    """Notepad's UTF-8 BOM used to hide the heading (the title became the file name) and stay in the text."""
    (tmp_path / "a.md").write_bytes(b"\xef\xbb\xbf# Agency notes\nThe agency said so.")
    (source,) = load_sources(tmp_path / "a.md")
    assert (source.title, source.text) == ("Agency notes", "# Agency notes The agency said so.")
