"""An EC key in OpenSSH format, for Flower's SuperNode authentication (``load_ssh_private_key``)."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

__all__ = ["write_ssh_ec_private_key"]


def write_ssh_ec_private_key(path: Path, *, comment: str) -> None:
    """Create a new ECDSA P-384 private key at ``path`` (OpenSSH format, mode 0600) and ``.pub``."""
    key = ec.generate_private_key(ec.SECP384R1())
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(private)
    path.with_name(path.name + ".pub").write_bytes(public + b" " + comment.encode("ascii") + b"\n")
