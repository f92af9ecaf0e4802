"""The layering of ARCHITECTURE.md holds, and an import the wrong way breaks it.

`make test` runs `lint-imports` itself; these tests show that the contract in setup.cfg is
kept by the tree and that it would catch a package importing a layer above it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(tree: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(tree / "setup.cfg")],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _copy_of_the_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(
        ROOT / "kamcrm",
        tree / "kamcrm",
        ignore=shutil.ignore_patterns("static", "translations", "__pycache__"),
    )
    shutil.copy(ROOT / "setup.cfg", tree / "setup.cfg")
    return tree


def test_the_tree_keeps_the_layers(tmp_path):
    result = _lint(_copy_of_the_tree(tmp_path))
    assert result.returncode == 0, result.stdout
    assert "1 kept, 0 broken" in result.stdout


def test_a_domain_importing_the_pages_breaks_the_contract(tmp_path):
    tree = _copy_of_the_tree(tmp_path)
    with open(tree / "kamcrm" / "accounts" / "queries.py", "a") as module:
        module.write(
            "\n\ndef _wrong_way():\n    from kamcrm.web import labels  # a domain reaching up\n    return labels\n"
        )

    result = _lint(tree)

    assert result.returncode == 1
    assert "kamcrm.accounts is not allowed to import kamcrm.web" in result.stdout
