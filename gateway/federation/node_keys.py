"""SuperNode authentication keys: members' own key pairs, and the bureau's register of them.

A member's SuperNode signs every fleet call with an ECDSA P-384 key
(``<data_dir>/federation/supernode_key``, OpenSSH format, made with
``cryptography`` in :mod:`gateway.crypto.ssh_keys`). The SuperLink runs with
``--enable-supernode-auth`` and only accepts keys registered through its
control API. The bureau registers a key when a member's SuperNode first
activates through the relay, and pins it to the member id on the relay's
mutual-TLS certificate: a second, different key from the same member is
refused until an operator removes the pin. The SuperLink keeps registrations in
memory, so a pinned key is registered again the first time its SuperNode activates
after the SuperLink (re)started (a new ``generation``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

from gateway.crypto.ssh_keys import write_ssh_ec_private_key
from gateway.errors import PolicyDenied
from gateway.federation.errors import FederationError

PRIVATE_KEY_FILE = "supernode_key"
PINS_FILE = "supernode_keys.json"


def supernode_key(folder: Path) -> Path:
    """Path of the member's SuperNode private key, created (mode 0600) on first use.

    Raises
    ------
    FederationError
        When the key file cannot be written.

    """
    path = folder / PRIVATE_KEY_FILE
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    try:
        write_ssh_ec_private_key(path, comment="credgate-supernode")
    except OSError as exc:
        raise FederationError(f"cannot create the SuperNode key {path}: {exc.strerror}") from exc
    return path


class SuperNodeKeyPins:
    """The bureau's record of which SuperNode key belongs to which member (one each)."""

    def __init__(
        self,
        folder: Path,
        register: Callable[[bytes, str], int],
        *,
        generation: Callable[[], object] = lambda: None,
    ) -> None:
        self._path = folder / PINS_FILE
        self._register = register
        self._generation = generation
        self._registered: dict[str, tuple[object, str]] = {}
        self._lock = threading.Lock()

    def admit(self, member_id: str, unverified_public_key: bytes) -> None:
        """Let ``member_id`` activate a SuperNode with this key; register it on first use.

        Raises
        ------
        PolicyDenied
            When the member already has a different key pinned.
        FederationError
            When the SuperLink refuses to register the key.

        """
        key = unverified_public_key.decode("ascii", errors="replace")
        with self._lock:
            pins = self._load()
            pinned = pins.get(member_id)
            generation = self._generation()
            if pinned is not None and pinned != key:
                raise PolicyDenied(
                    f"member {member_id} already has a different SuperNode key registered",
                    reason="supernode_key_mismatch",
                )
            if self._registered.get(member_id) == (generation, key):
                return
            self._register(unverified_public_key, member_id)
            self._registered[member_id] = (generation, key)
            if pinned == key:
                return
            pins[member_id] = key
            tmp = self._path.with_suffix(".tmp")
            tmp.write_text(json.dumps(pins, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            tmp.replace(self._path)

    def _load(self) -> dict[str, str]:
        if not self._path.exists():
            return {}
        data = json.loads(self._path.read_text(encoding="utf-8"))
        return {str(k): str(v) for k, v in data.items()}
