"""Headless Chromium for tests that look at what people read (the regulator's HTML report).

`.ci/install-chromium.sh` installs Debian's Chromium and CI sets CREDGATE_REQUIRE_CHROMIUM=1,
so there a missing browser fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image


def chromium() -> str:
    """The Chromium executable, or skip (fail under CREDGATE_REQUIRE_CHROMIUM=1)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "headless Chromium is not installed (run .ci/install-chromium.sh)"
        if os.environ.get("CREDGATE_REQUIRE_CHROMIUM") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return found


def screenshot(page: Path, out: Path, *, width: int = 1280, height: int = 2400) -> np.ndarray:
    """Render ``page`` in headless Chromium (no network) and return the screenshot's pixels."""
    profile = out.parent / "chromium-profile"
    subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            f"--screenshot={out}",
            page.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=90,
    )
    pixels: np.ndarray = image.imread(out)
    return pixels


def inked_share(pixels: np.ndarray) -> float:
    """Share of pixels that are not (near) white."""
    rgb = pixels[..., :3]
    return float((rgb.min(axis=-1) < 0.9).mean())


def colourful_share(pixels: np.ndarray) -> float:
    """Share of clearly coloured pixels (chart bars and lines, not black text on white)."""
    rgb = pixels[..., :3]
    return float(((rgb.max(axis=-1) - rgb.min(axis=-1)) > 0.25).mean())
