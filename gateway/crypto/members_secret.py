"""The members-only secret: a key every consortium member holds and the bureau never does.

The bureau holds the OPRF key, so it can compute any resident ID's token; anything it
routes or stores about a subject must therefore be keyed with a secret it lacks
(ARCHITECTURE §2). That secret is created and rotated by a ceremony among members
(``gateway.node.ceremony``, ``credgate members-secret create``), epoch by epoch, and
kept by every member under ``<data_dir>/keys/members-secret/``::

    epoch-0001.key    mode 0600: version (0x01) || epoch (4 bytes) || 32-byte secret

Features never use the secret itself: each derives its own key with
:meth:`MembersSecret.derive` under a registered purpose label, so keys of different
features are independent (RFC 5869 §3.2, distinct ``info``).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from gateway.crypto.encoding import i2osp, length_prefixed, length_prefixed_all
from gateway.crypto.primitives import hkdf_sha256
from gateway.errors import ConfigError, InvalidInputError, NotFoundError

__all__ = [
    "MEMBERS_SECRET_FOLDER",
    "PURPOSES",
    "MembersSecret",
    "MembersSecretStore",
    "members_secret_folder",
]

MEMBERS_SECRET_FOLDER = "members-secret"
SECRET_BYTES = 32
_FILE_VERSION = 0x01
_FILE = re.compile(r"epoch-(\d{4,10})\.key")
_DERIVE_LABEL = b"credgate/v1/members-secret/"

PURPOSES = frozenset(
    {
        "dedup-tag",  # subject check: per-day tag of a token (bureau cache key), issue #11
        "query-auth",  # subject check: querier authenticator responders verify, issue #11
        "subject-access",  # subject access: keyed lookup tag of a token, issue #11
        "cache-invalidation",  # appeals: tags of a token for invalidating cached answers, issue #17
        "report-pseudonym",  # regulator reports: per-request pseudonyms, issue #13
        "contact-clearance",  # contact clearance: keyed debtor counters, issue #16
    }
)
"""Registered purpose labels; :meth:`MembersSecret.derive` refuses any other."""


@dataclass(frozen=True)
class MembersSecret:
    """One epoch of the members-only secret; the value is kept out of ``repr``."""

    epoch: int
    value: bytes = field(repr=False)

    def __post_init__(self) -> None:
        """Validate sizes at construction (STYLE §3)."""
        if not 1 <= self.epoch < 2**32:
            raise InvalidInputError(f"expected 1 <= epoch < 2**32, received {self.epoch}", field="epoch")
        if len(self.value) != SECRET_BYTES:
            raise InvalidInputError(f"expected {SECRET_BYTES} bytes", field="members_secret")

    def derive(self, purpose: str, *context: bytes, length: int = 32) -> bytes:
        """A key for one purpose: ``HKDF-SHA256(secret, info = label ‖ purpose ‖ epoch ‖ context…)``.

        Raises
        ------
        InvalidInputError
            When ``purpose`` is not one of :data:`PURPOSES`.

        """
        if purpose not in PURPOSES:
            raise InvalidInputError(f"unknown purpose {purpose!r}", field="purpose")
        info = (
            length_prefixed(_DERIVE_LABEL + purpose.encode("ascii"))
            + i2osp(self.epoch, 4)
            + length_prefixed_all(context)
        )
        return hkdf_sha256(self.value, salt=None, info=info, length=length)

    def tag(self, purpose: str, message: bytes) -> bytes:
        """HMAC-SHA256 of ``message`` under the key derived for ``purpose``."""
        return hmac.new(self.derive(purpose), message, hashlib.sha256).digest()


class MembersSecretStore:
    """The epochs of the members' secret this member holds, one file each.

    Parameters
    ----------
    folder
        ``<data_dir>/keys/members-secret``; created with mode 0700 on first install.

    """

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        # An installed epoch is never overwritten, so a value read once stays right.
        self._held: dict[int, MembersSecret] = {}

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> MembersSecretStore:
        """The store of a node whose data folder is ``data_dir``."""
        return cls(members_secret_folder(data_dir))

    @property
    def epochs(self) -> tuple[int, ...]:
        """Epochs held, ascending."""
        if not self._folder.is_dir():
            return ()
        found = (_FILE.fullmatch(p.name) for p in self._folder.iterdir())
        return tuple(sorted(int(m.group(1)) for m in found if m is not None))

    def current(self) -> MembersSecret:
        """The newest epoch, used for everything a member sends.

        Raises
        ------
        ConfigError
            When no epoch is installed yet (run the ceremony).

        """
        epochs = self.epochs
        if not epochs:
            raise ConfigError(
                f"no members' secret in {self._folder}: run `credgate members-secret create` "
                "on one member while the others are online (docs/subject-check.md)"
            )
        return self.get(epochs[-1])

    def get(self, epoch: int) -> MembersSecret:
        """The secret of ``epoch``.

        Raises
        ------
        NotFoundError
            When this member does not hold that epoch.
        ConfigError
            When the file is malformed or readable by others.

        """
        if epoch in self._held:
            return self._held[epoch]
        path = self._folder / f"epoch-{epoch:04d}.key"
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
            content = path.read_bytes()
        except FileNotFoundError:
            raise NotFoundError(
                f"this member does not hold epoch {epoch} of the members' secret",
                reason="members_secret_epoch_unknown",
            ) from None
        except OSError as exc:
            raise ConfigError(f"cannot read {path} ({exc.strerror})") from exc
        if mode & 0o077:
            raise ConfigError(f"{path} must be readable by its owner only (chmod 600), found {mode:04o}")
        if len(content) != 5 + SECRET_BYTES or content[0] != _FILE_VERSION:
            raise ConfigError(f"{path}: expected {5 + SECRET_BYTES} bytes starting with version 1")
        if int.from_bytes(content[1:5], "big") != epoch:
            raise ConfigError(f"{path}: file name and content name different epochs")
        self._held[epoch] = MembersSecret(epoch, content[5:])
        return self._held[epoch]

    def install(self, secret: MembersSecret) -> bool:
        """Keep ``secret``; returns False when that epoch was already held with the same value.

        Raises
        ------
        InvalidInputError
            When the epoch is already held with a different value (never overwritten).

        """
        with contextlib.suppress(NotFoundError):
            held = self.get(secret.epoch)
            if not hmac.compare_digest(held.value, secret.value):
                raise InvalidInputError(
                    f"epoch {secret.epoch} is already held with another value", field="epoch"
                )
            return False
        self._folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self._folder / f"epoch-{secret.epoch:04d}.key"
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(bytes([_FILE_VERSION]) + i2osp(secret.epoch, 4) + secret.value)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return self.install(secret)
        finally:
            tmp.unlink(missing_ok=True)
        return True


def members_secret_folder(data_dir: Path) -> Path:
    """Where a member keeps the epochs of the members' secret."""
    return data_dir / "keys" / MEMBERS_SECRET_FOLDER
