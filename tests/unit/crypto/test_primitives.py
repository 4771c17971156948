"""The typed wrappers the aggregation arithmetic uses."""

from __future__ import annotations

import numpy as np
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from gateway.crypto.encoding import i2osp, length_prefixed
from gateway.crypto.errors import KeyAgreementError
from gateway.crypto.keys import KeyPair
from gateway.crypto.primitives import aes128_ctr_keystream_into, hkdf_sha256, x25519_agree
from gateway.errors import InvalidInputError


def test_x25519_agreement_is_symmetric() -> None:
    a, b = KeyPair.generate(), KeyPair.generate()
    assert x25519_agree(a.private_key, b.public_key) == x25519_agree(b.private_key, a.public_key)


def test_x25519_agreement_refuses_a_low_order_point() -> None:
    with pytest.raises(KeyAgreementError):
        x25519_agree(KeyPair.generate().private_key, bytes(32))


def test_x25519_agreement_checks_key_sizes() -> None:
    with pytest.raises(InvalidInputError, match="peer_public_key"):
        x25519_agree(bytes(32), bytes(33))
    with pytest.raises(InvalidInputError, match="private_key"):
        x25519_agree(bytes(31), KeyPair.generate().public_key)


def test_hkdf_requires_a_label_and_separates_by_it() -> None:
    with pytest.raises(InvalidInputError, match="info"):
        hkdf_sha256(b"k", salt=None, info=b"", length=32)
    first = hkdf_sha256(b"k", salt=None, info=b"a", length=32)
    assert first != hkdf_sha256(b"k", salt=None, info=b"b", length=32)


def test_keystream_is_aes_ctr_of_zeros_from_a_zero_counter() -> None:
    key = bytes(range(16))
    out = np.empty(5, dtype=np.uint64)

    aes128_ctr_keystream_into(key, out.data.cast("B"))

    encryptor = Cipher(algorithms.AES(key), modes.CTR(bytes(16))).encryptor()
    assert out.tobytes() == encryptor.update(bytes(40)) + encryptor.finalize()


def test_keystream_refuses_read_only_buffers_and_wrong_keys() -> None:
    with pytest.raises(InvalidInputError, match="out"):
        aes128_ctr_keystream_into(bytes(16), memoryview(bytes(16)))
    with pytest.raises(InvalidInputError, match="key"):
        aes128_ctr_keystream_into(bytes(15), memoryview(bytearray(16)))


def test_length_prefixes_are_big_endian_and_bounded() -> None:
    assert length_prefixed(b"abc") == b"\x00\x03abc"
    assert i2osp(258, 2) == b"\x01\x02"
    with pytest.raises(InvalidInputError):
        i2osp(65536, 2)
    with pytest.raises(InvalidInputError):
        length_prefixed(bytes(256), width=1)
