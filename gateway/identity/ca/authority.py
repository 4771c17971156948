"""A file-backed consortium CA.

The CA folder holds ``ca.key.pem`` (mode 0600), ``ca.cert.pem``, ``crl.pem``
(always re-signed after a revocation), ``issued.json``, the register of every
certificate issued, and ``issued/<serial>.pem``, a copy of each, which the bureau logs in
the consortium key log (``gateway.transparency``). Node certificates carry their member id and role as URIs in
the subjectAltName and are valid for both TLS server and client use, so a node
presents one certificate on every channel.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.errors import IdentityError, InvalidInputError, NotFoundError
from gateway.identity.peer import MEMBER_URI_PREFIX, ROLE_URI_PREFIX, Role

CA_KEY = "ca.key.pem"
CA_CERT = "ca.cert.pem"
CRL_FILE = "crl.pem"
REGISTER = "issued.json"
ISSUED_DIR = "issued"
MEMBER_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
CRL_VALIDITY = dt.timedelta(days=7)


@dataclass(frozen=True)
class IssuedCertificate:
    """One row of the CA's register of issued certificates."""

    serial: int
    member_id: str
    role: str
    not_after: str
    fingerprint: str
    revoked_at: str | None = None


@dataclass(frozen=True)
class IssuedIdentity:
    """Paths of a freshly issued node identity."""

    key_path: Path
    cert_path: Path
    ca_cert_path: Path
    serial: int


class CertificateAuthority:
    """The consortium CA in a folder; construct with :meth:`init` or :meth:`load`."""

    def __init__(self, directory: Path, key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate):
        self.directory = directory
        self._key = key
        self.certificate = certificate

    @classmethod
    def init(
        cls, directory: Path, *, name: str, now: dt.datetime, valid_days: int = 3650
    ) -> CertificateAuthority:
        """Create a new CA in an empty (or missing) folder.

        Raises
        ------
        IdentityError
            When the folder already holds a CA.

        """
        if (directory / CA_KEY).exists():
            raise IdentityError(f"{directory} already holds a CA key; refusing to overwrite it")
        directory.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
                x509.NameAttribute(NameOID.COMMON_NAME, f"{name} consortium CA"),
            ]
        )
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=valid_days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_ca_key_usage(), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        _write_private(directory / CA_KEY, key)
        (directory / CA_CERT).write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        (directory / REGISTER).write_text("[]\n", encoding="utf-8")
        authority = cls(directory, key, certificate)
        authority.publish_crl(now=now)
        return authority

    @classmethod
    def load(cls, directory: Path) -> CertificateAuthority:
        """Open an existing CA folder.

        Raises
        ------
        IdentityError
            When the key or certificate is missing or unreadable.

        """
        try:
            key = serialization.load_pem_private_key((directory / CA_KEY).read_bytes(), password=None)
            certificate = x509.load_pem_x509_certificate((directory / CA_CERT).read_bytes())
        except FileNotFoundError as exc:
            raise IdentityError(
                f"no CA in {directory}: {exc.filename} is missing (run `credgate ca init`)"
            ) from exc
        except ValueError as exc:
            raise IdentityError(f"CA files in {directory} are not valid PEM") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise IdentityError(f"{directory / CA_KEY} is not an EC private key")
        return cls(directory, key, certificate)

    def issue(
        self,
        *,
        member_id: str,
        role: Role,
        out_dir: Path,
        now: dt.datetime,
        valid_days: int = 365,
        not_before: dt.datetime | None = None,
        hosts: tuple[str, ...] = ("127.0.0.1", "localhost"),
    ) -> IssuedIdentity:
        """Issue a node key and certificate for ``member_id`` in ``role``.

        The certificate's DNS names include the member id, which peers use as the
        TLS target name, plus ``hosts`` (IP addresses or DNS names).

        Raises
        ------
        InvalidInputError
            When the member id is not a lower-case DNS label.

        """
        _check_member_id(member_id)
        key = ec.generate_private_key(ec.SECP256R1())
        out_dir.mkdir(parents=True, exist_ok=True)
        key_path = out_dir / f"{member_id}.key.pem"
        _write_private(key_path, key)
        cert_path, ca_cert_path, serial = self._certify(
            key.public_key(), member_id, role, out_dir, now, valid_days, not_before, hosts
        )
        return IssuedIdentity(key_path, cert_path, ca_cert_path, serial)

    def sign_request(
        self,
        csr_pem: bytes,
        *,
        member_id: str,
        role: Role,
        out_dir: Path,
        now: dt.datetime,
        valid_days: int = 365,
        hosts: tuple[str, ...] = ("127.0.0.1", "localhost"),
    ) -> IssuedIdentity:
        """Certify the key of a node's certificate signing request (``credgate init`` wrote it).

        The node keeps its private key; the CA operator states the member id and role, which
        the request cannot choose: its common name must equal ``member_id``, and the role and
        every name in the certificate come from the CA.

        Raises
        ------
        InvalidInputError
            When the request is not a PEM CSR, its signature does not verify, its key is
            not P-256, or its common name is not ``member_id``.

        """
        _check_member_id(member_id)
        try:
            request = x509.load_pem_x509_csr(csr_pem)
        except ValueError as exc:
            raise InvalidInputError("expected a PEM certificate signing request", field="csr") from exc
        if not request.is_signature_valid:
            raise InvalidInputError("the request's signature does not verify", field="csr")
        public_key = request.public_key()
        if not isinstance(public_key, ec.EllipticCurvePublicKey) or public_key.curve.name != "secp256r1":
            raise InvalidInputError("expected a P-256 (secp256r1) key", field="csr")
        names = [str(a.value) for a in request.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        if names != [member_id]:
            raise InvalidInputError(
                f"the request is for {names[0] if names else 'no common name'!r}, expected {member_id!r}",
                field="csr",
            )
        cert_path, ca_cert_path, serial = self._certify(
            public_key, member_id, role, out_dir, now, valid_days, None, hosts
        )
        return IssuedIdentity(out_dir / f"{member_id}.key.pem", cert_path, ca_cert_path, serial)

    def _certify(
        self,
        public_key: ec.EllipticCurvePublicKey,
        member_id: str,
        role: Role,
        out_dir: Path,
        now: dt.datetime,
        valid_days: int,
        not_before: dt.datetime | None,
        hosts: tuple[str, ...],
    ) -> tuple[Path, Path, int]:
        start = not_before or now - dt.timedelta(minutes=5)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name(
                    [
                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, _organisation(self.certificate)),
                        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role.value),
                        x509.NameAttribute(NameOID.COMMON_NAME, member_id),
                    ]
                )
            )
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=valid_days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_node_key_usage(), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
            .add_extension(_node_san(member_id, role, hosts), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )
        out_dir.mkdir(parents=True, exist_ok=True)
        cert_path = out_dir / f"{member_id}.cert.pem"
        cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        ca_cert_path = out_dir / CA_CERT
        ca_cert_path.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))
        (self.directory / ISSUED_DIR).mkdir(exist_ok=True)
        self.issued_certificate_path(certificate.serial_number).write_bytes(
            certificate.public_bytes(serialization.Encoding.PEM)
        )
        self._record(
            IssuedCertificate(
                serial=certificate.serial_number,
                member_id=member_id,
                role=role.value,
                not_after=certificate.not_valid_after_utc.isoformat(),
                fingerprint=certificate.fingerprint(hashes.SHA256()).hex(),
            )
        )
        return cert_path, ca_cert_path, certificate.serial_number

    def revoke(
        self, *, now: dt.datetime, member_id: str | None = None, serial: int | None = None
    ) -> list[int]:
        """Revoke by serial, or every live certificate of a member, and re-sign the CRL.

        Returns
        -------
        list[int]
            The serials newly revoked.

        Raises
        ------
        NotFoundError
            When nothing issued matches.

        """
        if (member_id is None) == (serial is None):
            raise InvalidInputError("give exactly one of member_id or serial", field="member_id")
        register = self.issued()
        matches = [
            c for c in register if c.revoked_at is None and (c.serial == serial or c.member_id == member_id)
        ]
        if not matches:
            target = f"serial {serial}" if serial is not None else f"member {member_id!r}"
            raise NotFoundError(f"no unrevoked certificate issued for {target}")
        revoked = {c.serial for c in matches}
        self._save(
            [
                IssuedCertificate(**{**asdict(c), "revoked_at": now.isoformat()})
                if c.serial in revoked
                else c
                for c in register
            ]
        )
        self.publish_crl(now=now)
        return sorted(revoked)

    def publish_crl(self, *, now: dt.datetime, validity: dt.timedelta = CRL_VALIDITY) -> Path:
        """Sign a fresh CRL listing every revoked certificate and write ``crl.pem`` atomically.

        Nodes refuse every call once its ``nextUpdate`` (``now + validity``) has passed, so
        the CA re-signs it on a schedule (``credgate ca crl``) well before that.
        """
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(now)
            .next_update(now + validity)
        )
        for entry in self.issued():
            if entry.revoked_at is not None:
                builder = builder.add_revoked_certificate(
                    x509.RevokedCertificateBuilder()
                    .serial_number(entry.serial)
                    .revocation_date(dt.datetime.fromisoformat(entry.revoked_at))
                    .build()
                )
        crl = builder.sign(self._key, hashes.SHA256())
        path = self.directory / CRL_FILE
        # Nodes re-read crl.pem while serving: they must see the old file or the new one, never a
        # half-written one (a truncated CRL refuses every call), so write aside and rename.
        _write_atomically(path, crl.public_bytes(serialization.Encoding.PEM))
        return path

    def issued_certificate_path(self, serial: int) -> Path:
        """Where the CA keeps its copy of the certificate with ``serial`` (PEM)."""
        return self.directory / ISSUED_DIR / f"{serial:x}.pem"

    def issued(self) -> list[IssuedCertificate]:
        """Return the register of issued certificates, oldest first."""
        rows = json.loads((self.directory / REGISTER).read_text(encoding="utf-8"))
        return [IssuedCertificate(**row) for row in rows]

    def _record(self, entry: IssuedCertificate) -> None:
        self._save([*self.issued(), entry])

    def _save(self, register: list[IssuedCertificate]) -> None:
        text = json.dumps([asdict(c) for c in register], indent=1) + "\n"
        _write_atomically(self.directory / REGISTER, text.encode("utf-8"))


def _check_member_id(member_id: str) -> None:
    if not MEMBER_ID_PATTERN.fullmatch(member_id):
        raise InvalidInputError(
            f"expected a lower-case DNS label (a-z, 0-9, -), received {member_id!r}", field="member_id"
        )


def signing_request(member_id: str, key_path: Path) -> bytes:
    """Make a node's P-256 key (``key_path``, mode 0600) and a PEM CSR naming ``member_id``.

    Raises
    ------
    InvalidInputError
        When the member id is not a lower-case DNS label.
    IdentityError
        When ``key_path`` already exists (a key is never overwritten).

    """
    _check_member_id(member_id)
    if key_path.exists():
        raise IdentityError(f"{key_path} already exists; refusing to overwrite a node key")
    key = ec.generate_private_key(ec.SECP256R1())
    key_path.parent.mkdir(parents=True, exist_ok=True)
    _write_private(key_path, key)
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, member_id)]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(member_id)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return request.public_bytes(serialization.Encoding.PEM)


def _organisation(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return str(names[0].value) if names else "credgate"


def _node_san(member_id: str, role: Role, hosts: tuple[str, ...]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = [
        x509.DNSName(member_id),
        x509.UniformResourceIdentifier(f"{MEMBER_URI_PREFIX}{member_id}"),
        x509.UniformResourceIdentifier(f"{ROLE_URI_PREFIX}{role.value}"),
    ]
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _node_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` by ``data``: temporary file in the same folder, fsync, rename, fsync folder."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def _write_private(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
