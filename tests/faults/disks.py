"""Real filesystems for fault tests: a loop-mounted ext4 whose crash image can be taken, a full tmpfs.

A crash is simulated the way crash-consistency tools do it: the loop device's backing file
holds exactly what the filesystem has written out to its device — everything ``fsync``
forced, and nothing that still sits dirty in the page cache — so a copy of it taken while
the writer keeps running is the disk as a power cut would leave it. Mounting the copy
replays ext4's journal, as the reboot would.

Both need root (mount, losetup); tests skip naming what is missing where it truly is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

IMAGE_BYTES = 96 * 1024 * 1024


def _run(*command: str) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=60).stdout.strip()


def require_mounts() -> None:
    """Skip (naming why) unless this process may mount filesystems and attach loop devices.

    CI sets ``CREDGATE_REQUIRE_MOUNTS``: there a missing capability fails the test instead.
    """
    missing = None
    if os.geteuid() != 0:
        missing = "needs root to mount filesystems (mount, losetup); CI runs as root"
    elif not Path("/dev/loop-control").exists():
        missing = "needs loop devices (/dev/loop-control is missing)"
    else:
        for tool in ("mount", "umount", "losetup", "mkfs.ext4"):
            if shutil.which(tool) is None:
                missing = f"needs {tool} (util-linux / e2fsprogs)"
    if missing is not None:
        if os.environ.get("CREDGATE_REQUIRE_MOUNTS"):
            pytest.fail(f"CREDGATE_REQUIRE_MOUNTS is set but this machine cannot run the test: {missing}")
        pytest.skip(missing)


@dataclass
class LoopDisk:
    """An ext4 filesystem on a loop device, mounted at ``mount``."""

    image: Path
    device: str
    mount: Path

    def crash_image(self, destination: Path) -> Path:
        """The disk as a power cut now would leave it (see the module docstring)."""
        shutil.copyfile(self.image, destination)
        return destination


@contextmanager
def loop_disk(folder: Path) -> Iterator[LoopDisk]:
    """A fresh ext4 on a loop device, mounted at ``folder / "disk"``; detached afterwards."""
    require_mounts()
    image = folder / "disk.img"
    with image.open("wb") as handle:
        handle.truncate(IMAGE_BYTES)
    _run("mkfs.ext4", "-q", "-F", str(image))
    device = _run("losetup", "--find", "--show", str(image))
    mount = folder / "disk"
    mount.mkdir()
    try:
        _run("mount", "-t", "ext4", device, str(mount))
        try:
            yield LoopDisk(image, device, mount)
        finally:
            subprocess.run(["umount", "-l", str(mount)], check=False, timeout=60)
    finally:
        subprocess.run(["losetup", "-d", device], check=False, timeout=60)


@contextmanager
def mounted_image(image: Path, mount: Path) -> Iterator[Path]:
    """Mount a (crash) image read-write, replaying its journal as a reboot would."""
    mount.mkdir(exist_ok=True)
    device = _run("losetup", "--find", "--show", str(image))
    try:
        _run("mount", "-t", "ext4", device, str(mount))
        try:
            yield mount
        finally:
            subprocess.run(["umount", "-l", str(mount)], check=False, timeout=60)
    finally:
        subprocess.run(["losetup", "-d", device], check=False, timeout=60)


@contextmanager
def small_tmpfs(mount: Path, *, size: str = "16m") -> Iterator[Path]:
    """A tmpfs of ``size`` at ``mount`` (for a full-disk fault)."""
    require_mounts()
    mount.mkdir(exist_ok=True)
    _run("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount))
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False, timeout=60)


def fill(folder: Path) -> None:
    """Write files until the filesystem holding ``folder`` has no space left (ENOSPC)."""
    for name, size in (("filler", 1024 * 1024), ("filler-small", 512)):
        descriptor = os.open(folder / name, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(descriptor, b"\0" * size)
        except OSError:
            pass
        finally:
            os.close(descriptor)
