"""`pip install .` (not editable) works: the wheel carries crews, flows, the house-style pack and the
price table, and the installed package finds them without the source tree."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(out), str(REPO)], check=True, capture_output=True, timeout=300)
    return next(out.glob("newsroom-*.whl"))


def test_the_wheel_ships_the_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for stage in ("discover", "editorial", "generate", "quality_gate"):
        assert f"newsroom/_data/crews/{stage}.yaml" in names
    assert "newsroom/_data/flows/article.yaml" in names
    assert "newsroom/_data/knowledge/spelling/american_british.tsv" in names
    assert sum(n.startswith("newsroom/_data/knowledge/rules/") for n in names) == 11
    assert sum(n.startswith("newsroom/_data/knowledge/exemplars/") for n in names) >= 4
    assert {"newsroom/roi/prices.json", "newsroom/roi/record.schema.json"} <= names
    assert not [n for n in names if n.startswith(("tests/", "logs/", "bench/")) or n.endswith(".gguf")]


def test_the_installed_package_finds_its_data_outside_the_repo(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site),
                    str(wheel)], check=True, capture_output=True, timeout=300)
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import newsroom, newsroom.paths as p;"
        "from newsroom.style.pack import default_pack; from newsroom.crews import load_crews;"
        "from newsroom.stages.context import load_flow;"
        "assert newsroom.__file__.startswith(sys.argv[1]), newsroom.__file__;"
        "pack = default_pack(); crews = load_crews(p.data_dir('crews')); flow = load_flow(p.data_dir('flows'));"
        "print(p.data_dir('knowledge'), len(pack.rules), len(pack.exemplars), len(crews), flow.name)"
    )
    out = subprocess.run([sys.executable, "-c", probe, str(site)], cwd=tmp_path, check=True, capture_output=True,
                         text=True, timeout=120).stdout.split()
    assert out[0] == str(site / "newsroom" / "_data" / "knowledge")
    assert int(out[1]) >= 30 and int(out[2]) >= 40 and out[3] == "4" and out[4] == "article"
