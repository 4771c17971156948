"""The model registry: versioned, signed model files that members verify before scoring.

Layout under a registry directory::

    <name>/v<version>/model.json        weights, normaliser, feature-spec hash, metrics, settings
    <name>/v<version>/model.sig         DER ECDSA signature over the file (see federated.signing)
    <name>/v<version>/signer.cert.pem   the bureau certificate that signed it
    <name>/v<version>/model-card.html   the model card (not signed; informative)

:func:`load_verified` refuses a model whose signature, certificate or weight hash does
not verify with one :class:`~federated.errors.ModelVerificationError`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from federated.errors import ModelVerificationError
from federated.models import ModelKind, Normaliser
from federated.signing import sign_model, verify_model_signature
from gateway.errors import NotFoundError
from gateway.identity.peer import Peer

__all__ = ["FORMAT_VERSION", "ModelRecord", "VerifiedModel", "load_verified", "next_version", "publish"]

FORMAT_VERSION = 2
MODEL_FILE, SIGNATURE_FILE, CERTIFICATE_FILE = "model.json", "model.sig", "signer.cert.pem"
FloatArray = npt.NDArray[np.float64]


def weights_digest(weights: FloatArray) -> str:
    """Return the SHA-256 (hex) of the weights as little-endian float64 bytes."""
    return hashlib.sha256(np.asarray(weights, dtype="<f8").tobytes()).hexdigest()


@dataclass(frozen=True)
class ModelRecord:
    """A trained model and what it was trained on; the content of ``model.json``."""

    name: str
    version: int
    created_at: str
    kind: ModelKind
    hidden: int
    weights: FloatArray
    normaliser: Normaliser
    spec_name: str
    spec_sha256: str
    input_names: list[str]
    metrics: dict[str, float] = field(default_factory=dict)
    epsilon: float = 0.0
    delta: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)
    #: Column → agreed value replacing a missing cell (encoded space; see federated.features.encoding).
    imputation: dict[str, float] = field(default_factory=dict)
    #: Tree depth of a ``gbt`` model (0 for the others).
    depth: int = 0

    @property
    def weights_sha256(self) -> str:
        """SHA-256 of the weights (little-endian float64)."""
        return weights_digest(self.weights)

    def to_bytes(self) -> bytes:
        """Return the canonical JSON file bytes (sorted keys, exact float repr)."""
        document = {
            "format": FORMAT_VERSION,
            "name": self.name,
            "version": self.version,
            "created_at": self.created_at,
            "kind": self.kind,
            "hidden": self.hidden,
            "weights": [float(v) for v in self.weights],
            "weights_sha256": self.weights_sha256,
            "mean": [float(v) for v in self.normaliser.mean],
            "std": [float(v) for v in self.normaliser.std],
            "spec_name": self.spec_name,
            "spec_sha256": self.spec_sha256,
            "input_names": self.input_names,
            "metrics": self.metrics,
            "epsilon": self.epsilon,
            "delta": self.delta,
            "settings": self.settings,
            "imputation": self.imputation,
            "depth": self.depth,
        }
        return json.dumps(document, sort_keys=True, indent=1).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> ModelRecord:
        """Parse ``model.json`` bytes (unverified; use :func:`load_verified`).

        Raises
        ------
        ValueError
            When the document is malformed.

        """
        doc = json.loads(data.decode("utf-8"))
        if not isinstance(doc, dict) or doc.get("format") != FORMAT_VERSION:
            raise ValueError("unknown model file format")
        kind = doc["kind"]
        if kind not in ("lr", "mlp", "gbt"):
            raise ValueError("unknown model kind")
        record = cls(
            name=str(doc["name"]),
            version=int(doc["version"]),
            created_at=str(doc["created_at"]),
            kind="lr" if kind == "lr" else "gbt" if kind == "gbt" else "mlp",
            hidden=int(doc["hidden"]),
            weights=np.asarray(doc["weights"], dtype=np.float64),
            normaliser=Normaliser(
                np.asarray(doc["mean"], dtype=np.float64), np.asarray(doc["std"], dtype=np.float64)
            ),
            spec_name=str(doc["spec_name"]),
            spec_sha256=str(doc["spec_sha256"]),
            input_names=[str(v) for v in doc["input_names"]],
            metrics={str(k): float(v) for k, v in dict(doc["metrics"]).items()},
            epsilon=float(doc["epsilon"]),
            delta=float(doc["delta"]),
            settings=dict(doc["settings"]),
            imputation={str(k): float(v) for k, v in dict(doc["imputation"]).items()},
            depth=int(doc["depth"]),
        )
        if record.weights_sha256 != doc["weights_sha256"]:
            raise ValueError("weights do not match their recorded hash")
        return record


@dataclass(frozen=True)
class VerifiedModel:
    """A model whose file, signature and signer certificate verified. Only :func:`load_verified` makes one."""

    record: ModelRecord
    signer: Peer
    path: Path


def next_version(registry: Path, name: str) -> int:
    """Return one more than the highest version of ``name`` in ``registry`` (1 when none)."""
    folder = registry / name
    versions = [int(p.name[1:]) for p in folder.glob("v*") if p.name[1:].isdigit()] if folder.is_dir() else []
    return max(versions, default=0) + 1


def publish(
    registry: Path, record: ModelRecord, *, key_pem: bytes | None, certificate_pem: bytes | None
) -> Path:
    """Write ``record`` as ``<name>/v<version>/model.json``, signed when a key is given.

    Returns
    -------
    Path
        The model file written.

    """
    folder = registry / record.name / f"v{record.version}"
    folder.mkdir(parents=True, exist_ok=True)
    data = record.to_bytes()
    (folder / MODEL_FILE).write_bytes(data)
    if key_pem is not None and certificate_pem is not None:
        (folder / SIGNATURE_FILE).write_bytes(sign_model(data, key_pem))
        (folder / CERTIFICATE_FILE).write_bytes(certificate_pem)
    return folder / MODEL_FILE


def load_verified(path: Path, *, ca_certificate_pem: bytes, now: dt.datetime) -> VerifiedModel:
    """Load a model file and verify it before anything uses it.

    Parameters
    ----------
    path
        ``model.json`` (its ``model.sig`` and ``signer.cert.pem`` sit next to it).
    ca_certificate_pem
        The consortium CA certificate.
    now
        Current time.

    Raises
    ------
    NotFoundError
        When there is no model file at ``path``.
    ModelVerificationError
        When its signature or certificate file is missing, the signature or certificate
        does not verify, or the weights do not match their hash.

    """
    name = path.parent.parent.name or path.name
    if not path.is_file():
        # Nothing to verify: say so (it was reported as "failed verification", exit 14).
        raise NotFoundError(
            f"no model file at {path}; fetch the shared model first (credgate model fetch) "
            "or give the path of its model.json"
        )
    try:
        data = path.read_bytes()
        signature = (path.parent / SIGNATURE_FILE).read_bytes()
        certificate = (path.parent / CERTIFICATE_FILE).read_bytes()
    except OSError as exc:
        raise ModelVerificationError(name) from exc
    signer = verify_model_signature(
        name, data, signature, certificate, ca_certificate_pem=ca_certificate_pem, now=now
    )
    try:
        record = ModelRecord.from_bytes(data)
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelVerificationError(name) from exc
    return VerifiedModel(record, signer, path)
