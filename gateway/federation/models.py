"""Publishing the trained model: the bureau serves its newest signed model, members install it verified.

The ServerApp writes each run's model into ``<bureau data>/federation/runs/<run>/registry``
signed with the bureau's certificate key (``federated.registry``). ``BureauService/GetModel``
serves the newest one of a name; a member's ``credgate model fetch`` verifies the signature,
the certificate chain and the weight hash before the files land in its own
``<data>/models/<name>/v<version>/``, where ``credgate score`` reads them (and verifies again).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from federated.registry import CERTIFICATE_FILE, MODEL_FILE, SIGNATURE_FILE, load_verified
from gateway.errors import NotFoundError

__all__ = ["PublishedModel", "install_model", "newest_model"]


@dataclass(frozen=True)
class PublishedModel:
    """A model file as signed, with its signature and the signing certificate (DER)."""

    name: str
    version: int
    model_file: bytes
    signature: bytes
    signer_certificate_der: bytes


def newest_model(runs_root: Path, name: str) -> PublishedModel:
    """The most recently created signed model called ``name`` among the bureau's runs.

    Raises
    ------
    NotFoundError
        When no run has produced a signed model of that name.

    """
    candidates: list[tuple[str, Path]] = []
    for path in runs_root.glob(f"*/registry/{name}/v*/{MODEL_FILE}"):
        if (path.parent / SIGNATURE_FILE).exists() and (path.parent / CERTIFICATE_FILE).exists():
            candidates.append((str(json.loads(path.read_bytes())["created_at"]), path))
    if not candidates:
        raise NotFoundError(f"no signed model {name!r} yet; run `credgate train` at the bureau first")
    _, path = max(candidates)
    record = json.loads(path.read_bytes())
    certificate_pem = (path.parent / CERTIFICATE_FILE).read_text(encoding="ascii")
    return PublishedModel(
        name,
        int(record["version"]),
        path.read_bytes(),
        (path.parent / SIGNATURE_FILE).read_bytes(),
        ssl.PEM_cert_to_DER_cert(certificate_pem),
    )


def install_model(
    model: PublishedModel, models_dir: Path, *, ca_certificate_pem: bytes, now: dt.datetime
) -> Path:
    """Verify ``model`` and install it as ``<models_dir>/<name>/v<version>/model.json``.

    Raises
    ------
    ModelVerificationError
        When the signature, the certificate or the weight hash does not verify; nothing is
        installed.

    """
    models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=models_dir, prefix=".incoming-") as incoming:
        staged = Path(incoming)
        (staged / MODEL_FILE).write_bytes(model.model_file)
        (staged / SIGNATURE_FILE).write_bytes(model.signature)
        (staged / CERTIFICATE_FILE).write_text(
            ssl.DER_cert_to_PEM_cert(model.signer_certificate_der), encoding="ascii"
        )
        verified = load_verified(staged / MODEL_FILE, ca_certificate_pem=ca_certificate_pem, now=now)
        target = models_dir / model.name / f"v{verified.record.version}"
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staged, target)
    return target / MODEL_FILE
