"""Run the W3C Feed Validator (``../shared/tools/validate-feed``) from tests."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest


def validate_feed_files(paths: list[Path], *, strict: bool = False) -> None:
    """Run shared/tools/validate-feed once over ``paths``; fail with its report on errors.

    The tool is ``../shared/tools/validate-feed`` beside the checkout, or
    ``$SYNDICATOR_VALIDATE_FEED``. Its first run installs its venv (needs PyPI).
    ``strict`` also fails on warnings.
    """
    assert paths, "nothing to validate"
    default = Path(__file__).resolve().parents[1].parent / "shared" / "tools" / "validate-feed"
    tool = Path(os.environ.get("SYNDICATOR_VALIDATE_FEED") or default)
    if not tool.is_file():
        pytest.fail(f"validate-feed not found at {tool}; set SYNDICATOR_VALIDATE_FEED")
    command = [str(tool), *(["--strict"] if strict else []), *map(str, paths)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, (
        f"validate-feed exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    )
