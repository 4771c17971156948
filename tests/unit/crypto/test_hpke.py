"""HPKE against RFC 9180 Appendix A.1.1 first, then round trips and tampering."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.crypto.errors import DecryptionError, KeyAgreementError
from gateway.crypto.hpke import HPKE_INFO_PREFIX, SEALED_BOX_VERSION, SealedBox, hpke_info, open_sealed, seal
from gateway.crypto.keys import KeyPair
from gateway.errors import InvalidInputError

VECTOR_FILE = Path(__file__).parents[2] / "vectors" / "hpke_rfc9180_a1_base.json"


@dataclass(frozen=True)
class Encryption:
    sequence_number: int
    pt: bytes
    aad: bytes
    nonce: bytes
    ct: bytes


@dataclass(frozen=True)
class BaseVector:
    """One RFC 9180 Appendix A base-mode suite, as stored in tests/vectors/hpke_*.json."""

    mode: int
    kem_id: int
    kdf_id: int
    aead_id: int
    info: bytes
    sk_r: bytes
    pk_r: bytes
    sk_e: bytes
    pk_e: bytes
    enc: bytes
    key: bytes
    base_nonce: bytes
    encryptions: tuple[Encryption, ...]


def load_base_vector(path: Path) -> BaseVector:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return BaseVector(
        mode=raw["mode"],
        kem_id=raw["kem_id"],
        kdf_id=raw["kdf_id"],
        aead_id=raw["aead_id"],
        info=bytes.fromhex(raw["info"]),
        sk_r=bytes.fromhex(raw["skRm"]),
        pk_r=bytes.fromhex(raw["pkRm"]),
        sk_e=bytes.fromhex(raw["skEm"]),
        pk_e=bytes.fromhex(raw["pkEm"]),
        enc=bytes.fromhex(raw["enc"]),
        key=bytes.fromhex(raw["key"]),
        base_nonce=bytes.fromhex(raw["base_nonce"]),
        encryptions=tuple(
            Encryption(
                sequence_number=e["sequence_number"],
                pt=bytes.fromhex(e["pt"]),
                aad=bytes.fromhex(e["aad"]),
                nonce=bytes.fromhex(e["nonce"]),
                ct=bytes.fromhex(e["ct"]),
            )
            for e in raw["encryptions"]
        ),
    )


VECTOR = load_base_vector(VECTOR_FILE)
FIRST = VECTOR.encryptions[0]  # The single-shot API of RFC 9180 §6.1 uses sequence number 0 only.


def test_vector_is_the_suite_we_implement() -> None:
    assert (VECTOR.mode, VECTOR.kem_id, VECTOR.kdf_id, VECTOR.aead_id) == (0, 0x20, 0x01, 0x01)
    assert FIRST.sequence_number == 0 and FIRST.nonce == VECTOR.base_nonce


def test_opening_the_rfc9180_a1_ciphertext_gives_its_plaintext() -> None:
    box = SealedBox(enc=VECTOR.enc, ciphertext=FIRST.ct)

    plaintext = open_sealed(VECTOR.sk_r, box, info=VECTOR.info, aad=FIRST.aad)

    assert plaintext == FIRST.pt == b"Beauty is truth, truth beauty"


def test_vector_file_is_internally_consistent() -> None:
    # Guards the transcription: every listed encryption opens under the listed key
    # and nonce (nonce = base_nonce XOR sequence number, RFC 9180 §5.2), and the
    # listed public keys belong to the listed private keys.
    aead = AESGCM(VECTOR.key)
    for encryption in VECTOR.encryptions:
        expected_nonce = int.from_bytes(VECTOR.base_nonce, "big") ^ encryption.sequence_number
        assert encryption.nonce == expected_nonce.to_bytes(12, "big")
        assert aead.decrypt(encryption.nonce, encryption.ct, encryption.aad) == encryption.pt
    assert KeyPair.from_private(VECTOR.sk_r).public_key == VECTOR.pk_r
    assert KeyPair.from_private(VECTOR.sk_e).public_key == VECTOR.pk_e == VECTOR.enc


def _flip(data: bytes, index: int = 0) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


@pytest.mark.parametrize(
    ("enc", "ct", "info", "aad"),
    [
        pytest.param(_flip(VECTOR.enc), FIRST.ct, VECTOR.info, FIRST.aad, id="enc"),
        pytest.param(VECTOR.enc, _flip(FIRST.ct), VECTOR.info, FIRST.aad, id="ciphertext"),
        pytest.param(VECTOR.enc, _flip(FIRST.ct, -1), VECTOR.info, FIRST.aad, id="tag"),
        pytest.param(VECTOR.enc, FIRST.ct[:-1], VECTOR.info, FIRST.aad, id="truncated"),
        pytest.param(VECTOR.enc, FIRST.ct, _flip(VECTOR.info), FIRST.aad, id="info"),
        pytest.param(VECTOR.enc, FIRST.ct, VECTOR.info, _flip(FIRST.aad), id="aad"),
        pytest.param(VECTOR.enc, FIRST.ct, VECTOR.info, b"", id="aad-dropped"),
        pytest.param(
            VECTOR.enc, VECTOR.encryptions[1].ct, VECTOR.info, VECTOR.encryptions[1].aad, id="seq-1"
        ),
    ],
)
def test_tampered_vector_raises_decryption_error(enc: bytes, ct: bytes, info: bytes, aad: bytes) -> None:
    with pytest.raises(DecryptionError, match=r"^sealed box could not be opened$"):
        open_sealed(VECTOR.sk_r, SealedBox(enc=enc, ciphertext=ct), info=info, aad=aad)


def test_opening_with_another_private_key_raises() -> None:
    other = KeyPair.generate()
    with pytest.raises(DecryptionError):
        open_sealed(other.private_key, SealedBox(VECTOR.enc, FIRST.ct), info=VECTOR.info, aad=FIRST.aad)


@settings(max_examples=40, deadline=None)
@given(plaintext=st.binary(max_size=512), aad=st.binary(max_size=64), parts=st.lists(st.binary(max_size=40)))
def test_seal_then_open_round_trips(plaintext: bytes, aad: bytes, parts: list[bytes]) -> None:
    recipient = KeyPair.generate()
    info = hpke_info("subject-check", *parts)

    box = SealedBox.from_bytes(seal(recipient.public_key, plaintext, info=info, aad=aad).to_bytes())

    assert open_sealed(recipient.private_key, box, info=info, aad=aad) == plaintext


def test_seal_uses_a_fresh_ephemeral_key_each_time() -> None:
    recipient = KeyPair.generate()
    first = seal(recipient.public_key, b"token", info=b"i", aad=b"")
    second = seal(recipient.public_key, b"token", info=b"i", aad=b"")
    assert first.enc != second.enc and first.ciphertext != second.ciphertext


def test_seal_with_empty_aad_is_standard_single_shot_hpke() -> None:
    # Our seal with empty aad must open through the library's public RFC 9180 API.
    recipient = x25519.X25519PrivateKey.generate()
    box = seal(recipient.public_key().public_bytes_raw(), b"seed", info=b"ctx", aad=b"")
    suite = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_128_GCM)
    assert suite.decrypt(box.enc + box.ciphertext, recipient, info=b"ctx") == b"seed"


def test_seal_binds_info_and_aad() -> None:
    recipient = KeyPair.generate()
    info = hpke_info("subject-check", b"query-1", b"\x01", b"bank-a")
    box = seal(recipient.public_key, b"token", info=info, aad=b"header")
    for wrong_info, wrong_aad in [
        (hpke_info("subject-check", b"query-1", b"\x02", b"bank-a"), b"header"),
        (hpke_info("subject-check", b"query-1", b"\x01", b"bank-b"), b"header"),
        (info, b"headeR"),
    ]:
        with pytest.raises(DecryptionError):
            open_sealed(recipient.private_key, box, info=wrong_info, aad=wrong_aad)


def test_seal_refuses_a_low_order_public_key() -> None:
    with pytest.raises(KeyAgreementError):
        seal(bytes(32), b"x", info=b"i", aad=b"")


def test_seal_refuses_a_public_key_of_the_wrong_size() -> None:
    with pytest.raises(InvalidInputError, match="recipient_public_key"):
        seal(bytes(31), b"x", info=b"i", aad=b"")


def test_sealed_box_wire_form_starts_with_its_version() -> None:
    box = SealedBox(enc=bytes(32), ciphertext=bytes(16))
    wire = box.to_bytes()
    assert wire[0] == SEALED_BOX_VERSION and SealedBox.from_bytes(wire) == box


@pytest.mark.parametrize(
    ("wire", "match"),
    [
        (b"", "expected version 1, received None"),
        (b"\x02" + bytes(48), "expected version 1, received 2"),
        (b"\x01" + bytes(47), "expected at least 49 bytes"),
    ],
)
def test_malformed_wire_form_is_refused(wire: bytes, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        SealedBox.from_bytes(wire)


def test_sealed_box_validates_sizes_at_construction() -> None:
    with pytest.raises(InvalidInputError, match="enc"):
        SealedBox(enc=bytes(31), ciphertext=bytes(16))
    with pytest.raises(InvalidInputError, match="ciphertext"):
        SealedBox(enc=bytes(32), ciphertext=bytes(15))


def test_hpke_info_is_prefixed_and_length_prefixed() -> None:
    info = hpke_info("seed", b"q1", b"")
    assert info == HPKE_INFO_PREFIX + b"\x00\x04seed" + b"\x00\x02q1" + b"\x00\x00"


@given(
    a=st.tuples(st.sampled_from(["a", "ab", "subject-check"]), st.lists(st.binary(max_size=4), max_size=4)),
    b=st.tuples(st.sampled_from(["a", "ab", "subject-check"]), st.lists(st.binary(max_size=4), max_size=4)),
)
def test_hpke_info_is_injective(a: tuple[str, list[bytes]], b: tuple[str, list[bytes]]) -> None:
    if a != b:
        assert hpke_info(a[0], *a[1]) != hpke_info(b[0], *b[1])


@pytest.mark.parametrize("label", ["", "Upper", "with space", "x" * 65, "ü"])
def test_hpke_info_refuses_malformed_labels(label: str) -> None:
    with pytest.raises(InvalidInputError, match="label"):
        hpke_info(label)
