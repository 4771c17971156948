"""The bureau's OPRF key ring: one secret key per epoch, persisted as files.

Layout of the key folder (mode 0700)::

    epoch-0001.key    mode 0600, 37 bytes
    epoch-0002.key    ...

Each file is ``version (1 byte, 0x01) || epoch (4 bytes, big-endian) || skS
(32 bytes, little-endian scalar)``. The epoch is stored twice (name and body) so
a renamed file is caught. New files are written to a temporary name, flushed
and hard-linked into place, so a crash never leaves a partial key and an
existing epoch is never overwritten.

Outputs made under different epochs are unrelated, so rotating the key changes
every subject token: see ``docs/oprf.md`` for how epochs are rolled out.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Final

from gateway.errors import NotFoundError
from gateway.tokens.oprf import _sodium
from gateway.tokens.oprf.errors import OPRFKeyError
from gateway.tokens.oprf.server import OPRFServerKey

__all__ = ["KEY_FILE_VERSION", "OPRFKeyRing"]

KEY_FILE_VERSION: Final = 0x01
"""Version byte every key file starts with."""

_KEY_FILE = re.compile(r"epoch-(\d{4,10})\.key")
_FILE_BYTES: Final = 1 + 4 + 32
_MAX_EPOCH: Final = 2**32 - 1


def _file_name(epoch: int) -> str:
    return f"epoch-{epoch:04d}.key"


def _encode(key: OPRFServerKey) -> bytes:
    return bytes([KEY_FILE_VERSION]) + key.epoch.to_bytes(4, "big") + key.scalar


def _read_key(path: Path, epoch: int) -> OPRFServerKey:
    info = path.stat()
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise OPRFKeyError(
            f"{path}: expected mode 0600, got {stat.S_IMODE(info.st_mode):04o} (readable by others)"
        )
    data = path.read_bytes()
    if len(data) != _FILE_BYTES or data[0] != KEY_FILE_VERSION:
        raise OPRFKeyError(
            f"{path}: expected {_FILE_BYTES} bytes starting with version {KEY_FILE_VERSION:#04x}, "
            f"got {len(data)} bytes starting with {data[:1].hex() or 'nothing'}"
        )
    stored_epoch = int.from_bytes(data[1:5], "big")
    if stored_epoch != epoch:
        raise OPRFKeyError(f"{path}: file name says epoch {epoch}, content says {stored_epoch}")
    try:
        return OPRFServerKey(data[5:], epoch)
    except OPRFKeyError as exc:
        raise OPRFKeyError(f"{path}: {exc.message}") from exc


class OPRFKeyRing:
    """The bureau's OPRF keys, one per epoch, in a folder only the bureau can read.

    Create it with :meth:`load_or_create` or :meth:`load`. The highest epoch is
    :attr:`current` and evaluates new requests; older epochs stay available
    through :meth:`get` until :meth:`retire` deletes them. Methods are safe to
    call from several threads; a single process should own the folder.

    Parameters
    ----------
    folder
        The key folder.
    keys
        The loaded keys by epoch (at least one).
    random_scalar
        Source of new key scalars (libsodium's CSPRNG unless a test injects one).

    """

    def __init__(
        self, folder: Path, keys: dict[int, OPRFServerKey], *, random_scalar: Callable[[], bytes]
    ) -> None:
        if not keys:
            raise OPRFKeyError(f"{folder}: expected at least one key")
        self._folder = folder
        self._keys = dict(keys)
        self._random_scalar = random_scalar
        self._lock = threading.Lock()

    @classmethod
    def load(cls, folder: Path, *, random_scalar: Callable[[], bytes] | None = None) -> OPRFKeyRing:
        """Load an existing key ring.

        Parameters
        ----------
        folder
            A folder holding at least one ``epoch-NNNN.key`` file.
        random_scalar
            Source of scalars for later :meth:`rotate` calls; ``None`` for libsodium.

        Returns
        -------
        OPRFKeyRing
            The ring with every key in the folder.

        Raises
        ------
        OPRFKeyError
            When the folder holds no key, or a key file is malformed or readable
            by group or others.

        """
        keys: dict[int, OPRFServerKey] = {}
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                match = _KEY_FILE.fullmatch(path.name)
                if match is None:
                    continue
                epoch = int(match.group(1))
                if epoch in keys or epoch < 1:
                    raise OPRFKeyError(f"{path}: duplicate or invalid epoch {epoch} in the file name")
                keys[epoch] = _read_key(path, epoch)
        if not keys:
            raise OPRFKeyError(f"{folder}: expected at least one epoch-NNNN.key file, found none")
        return cls(folder, keys, random_scalar=random_scalar or _sodium.scalar_random)

    @classmethod
    def load_or_create(cls, folder: Path, *, random_scalar: Callable[[], bytes] | None = None) -> OPRFKeyRing:
        """Load the key ring in ``folder``, creating it with epoch 1 if it holds no key.

        Parameters
        ----------
        folder
            The key folder; created with mode 0700 if missing.
        random_scalar
            Source of new key scalars; ``None`` for libsodium's CSPRNG.

        Returns
        -------
        OPRFKeyRing
            The loaded or newly created ring.

        Raises
        ------
        OPRFKeyError
            When an existing key file is invalid or the folder cannot be written.

        """
        draw = random_scalar or _sodium.scalar_random
        if folder.is_dir() and any(_KEY_FILE.fullmatch(path.name) for path in folder.iterdir()):
            return cls.load(folder, random_scalar=draw)
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise OPRFKeyError(f"{folder}: cannot create the key folder ({exc.strerror})") from exc
        first = OPRFServerKey(draw(), 1)
        _write_new(folder, first)
        return cls(folder, {1: first}, random_scalar=draw)

    @property
    def folder(self) -> Path:
        """The key folder."""
        return self._folder

    @property
    def epochs(self) -> tuple[int, ...]:
        """The epochs held, ascending."""
        with self._lock:
            return tuple(sorted(self._keys))

    @property
    def current(self) -> OPRFServerKey:
        """The key of the highest epoch, used for every new evaluation."""
        with self._lock:
            return self._keys[max(self._keys)]

    def get(self, epoch: int) -> OPRFServerKey:
        """Return the key of ``epoch``.

        Parameters
        ----------
        epoch
            A key epoch.

        Returns
        -------
        OPRFServerKey
            Its key.

        Raises
        ------
        NotFoundError
            With reason ``oprf_key_epoch_unknown`` when the epoch never existed
            or was retired.

        """
        with self._lock:
            key = self._keys.get(epoch)
            held = sorted(self._keys)
        if key is None:
            raise NotFoundError(
                f"OPRF key epoch {epoch} is unknown or retired; held epochs: {held}",
                reason="oprf_key_epoch_unknown",
            )
        return key

    def rotate(self) -> int:
        """Create and persist a key for a new epoch, which becomes :attr:`current`.

        Returns
        -------
        int
            The new epoch (one more than the highest held).

        Raises
        ------
        OPRFKeyError
            When the file cannot be written or already exists (another process
            rotated the same folder).

        """
        with self._lock:
            epoch = max(self._keys) + 1
            if epoch > _MAX_EPOCH:
                raise OPRFKeyError(f"{self._folder}: epoch {epoch} exceeds {_MAX_EPOCH}")
            key = OPRFServerKey(self._random_scalar(), epoch)
            _write_new(self._folder, key)
            self._keys[epoch] = key
        return epoch

    def retire(self, epoch: int) -> None:
        """Delete the key of an old epoch; :meth:`get` then refuses it.

        Parameters
        ----------
        epoch
            An epoch lower than the current one.

        Raises
        ------
        NotFoundError
            When the epoch is not held.
        OPRFKeyError
            When ``epoch`` is the current epoch, or the file cannot be deleted.

        """
        with self._lock:
            if epoch not in self._keys:
                raise NotFoundError(f"OPRF key epoch {epoch} is not held", reason="oprf_key_epoch_unknown")
            if epoch == max(self._keys):
                raise OPRFKeyError(f"cannot retire the current epoch {epoch}; rotate first")
            try:
                (self._folder / _file_name(epoch)).unlink(missing_ok=True)
            except OSError as exc:
                raise OPRFKeyError(f"cannot delete the key of epoch {epoch} ({exc.strerror})") from exc
            del self._keys[epoch]


def _write_new(folder: Path, key: OPRFServerKey) -> None:
    """Write ``key`` to its file atomically, mode 0600, never replacing an existing file."""
    target = folder / _file_name(key.epoch)
    temporary = folder / f".{target.name}.{os.getpid()}.tmp"
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(descriptor, _encode(key))
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        # A hard link fails if the target exists: no key is ever overwritten.
        os.link(temporary, target)
    except FileExistsError as exc:
        raise OPRFKeyError(f"{target}: a key for epoch {key.epoch} already exists") from exc
    except OSError as exc:
        raise OPRFKeyError(f"{target}: cannot write the key ({exc.strerror})") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    # Persist the directory entry too.
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
