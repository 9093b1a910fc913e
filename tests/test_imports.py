"""Every module imports on its own, in a fresh interpreter, and ``roi/`` never imports ``llm/``.

In one pytest process an import cycle hides: whichever module conftest imports first initialises
the cycle in a working order. A fresh ``python -c "import X"`` per module is what a user or a
worker process does.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import newsroom

PACKAGE = Path(newsroom.__file__).parent


def _modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


@pytest.mark.timeout(120)
@pytest.mark.parametrize("module", _modules())
def test_module_imports_alone_in_a_fresh_interpreter(module: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PACKAGE.parent), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", f"import {module}"], env=env, capture_output=True, text=True,
                          timeout=100)
    assert proc.returncode == 0, f"python -c 'import {module}' failed:\n{proc.stderr[-2000:]}"


def test_every_module_is_covered() -> None:
    assert {"newsroom.roi.prices", "newsroom.llm.metered", "newsroom.usage"} <= set(_modules())


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted((PACKAGE / "roi").glob("*.py")), ids=lambda p: p.name)
def test_roi_never_imports_llm(path: Path) -> None:
    # llm/metered.py imports roi/; an import the other way round is the cycle that broke this.
    assert not {n for n in _imported(path) if n == "newsroom.llm" or n.startswith("newsroom.llm.")}


def test_usage_is_still_importable_from_llm_base() -> None:
    from newsroom.llm import Usage as from_package
    from newsroom.llm.base import Usage as from_base
    from newsroom.usage import Usage

    assert from_base is from_package is Usage
