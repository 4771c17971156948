"""The bureau's key ring: creation, persistence, rotation, retirement and refusals."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from gateway.errors import NotFoundError
from gateway.tokens.oprf import OPRFKeyError, OPRFKeyRing
from gateway.tokens.oprf.keyring import KEY_FILE_VERSION
from gateway.tokens.oprf.server import evaluate


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_load_or_create_creates_epoch_1_in_a_private_folder(tmp_path: Path) -> None:
    # Prepare
    folder = tmp_path / "oprf"

    # Execute
    ring = OPRFKeyRing.load_or_create(folder)

    # Assert
    assert ring.epochs == (1,)
    assert ring.current.epoch == 1
    assert mode(folder) == 0o700
    key_file = folder / "epoch-0001.key"
    assert mode(key_file) == 0o600
    content = key_file.read_bytes()
    assert len(content) == 37
    assert content[0] == KEY_FILE_VERSION
    assert content[5:] == ring.current.scalar
    assert [p.name for p in folder.iterdir()] == ["epoch-0001.key"]


def test_load_or_create_loads_the_same_keys_again(tmp_path: Path) -> None:
    # Prepare
    first = OPRFKeyRing.load_or_create(tmp_path)
    first.rotate()

    # Execute
    second = OPRFKeyRing.load_or_create(tmp_path)

    # Assert
    assert second.epochs == (1, 2)
    for epoch in (1, 2):
        assert evaluate(second.get(epoch), b"x") == evaluate(first.get(epoch), b"x")


def test_rotate_persists_a_new_current_epoch_with_a_new_key(tmp_path: Path) -> None:
    # Prepare
    ring = OPRFKeyRing.load_or_create(tmp_path)
    old = ring.current

    # Execute
    epoch = ring.rotate()

    # Assert
    assert epoch == 2
    assert ring.current.epoch == 2
    assert ring.get(1) is old
    assert evaluate(ring.current, b"x") != evaluate(old, b"x")
    assert mode(tmp_path / "epoch-0002.key") == 0o600
    assert OPRFKeyRing.load(tmp_path).current.epoch == 2


def test_an_unknown_epoch_is_a_clear_not_found_error(tmp_path: Path) -> None:
    ring = OPRFKeyRing.load_or_create(tmp_path)

    with pytest.raises(NotFoundError, match=r"epoch 7 is unknown or retired; held epochs: \[1\]") as caught:
        ring.get(7)

    assert caught.value.reason == "oprf_key_epoch_unknown"


def test_a_retired_epoch_is_refused_and_its_file_deleted(tmp_path: Path) -> None:
    # Prepare
    ring = OPRFKeyRing.load_or_create(tmp_path)
    ring.rotate()

    # Execute
    ring.retire(1)

    # Assert
    assert not (tmp_path / "epoch-0001.key").exists()
    with pytest.raises(NotFoundError, match="unknown or retired"):
        ring.get(1)
    assert OPRFKeyRing.load(tmp_path).epochs == (2,)


def test_the_current_epoch_cannot_be_retired(tmp_path: Path) -> None:
    ring = OPRFKeyRing.load_or_create(tmp_path)

    with pytest.raises(OPRFKeyError, match="cannot retire the current epoch 1"):
        ring.retire(1)


def test_load_refuses_an_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(OPRFKeyError, match="found none"):
        OPRFKeyRing.load(tmp_path)


def test_load_refuses_a_key_file_readable_by_others(tmp_path: Path) -> None:
    OPRFKeyRing.load_or_create(tmp_path)
    os.chmod(tmp_path / "epoch-0001.key", 0o644)

    with pytest.raises(OPRFKeyError, match="expected mode 0600, got 0644"):
        OPRFKeyRing.load(tmp_path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "expected 37 bytes"),
        (b"\x02" + (1).to_bytes(4, "big") + b"\x01" * 32, "starting with version 0x01"),
        (b"\x01" + (9).to_bytes(4, "big") + b"\x01" * 32, "content says 9"),
        (b"\x01" + (1).to_bytes(4, "big") + bytes(32), "canonical non-zero"),
    ],
    ids=["empty", "version", "epoch", "zero-scalar"],
)
def test_load_refuses_a_malformed_key_file(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "epoch-0001.key"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(descriptor, content)
    os.close(descriptor)

    with pytest.raises(OPRFKeyError, match=message):
        OPRFKeyRing.load(tmp_path)


def test_rotate_never_overwrites_an_existing_key_file(tmp_path: Path) -> None:
    # Prepare: another process already wrote epoch 2.
    ring = OPRFKeyRing.load_or_create(tmp_path)
    OPRFKeyRing.load(tmp_path).rotate()
    before = (tmp_path / "epoch-0002.key").read_bytes()

    # Execute / Assert
    with pytest.raises(OPRFKeyError, match="already exists"):
        ring.rotate()
    assert (tmp_path / "epoch-0002.key").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch-0001.key", "epoch-0002.key"]


def test_injected_randomness_makes_keys_deterministic(tmp_path: Path) -> None:
    scalars = iter([(5).to_bytes(32, "little"), (6).to_bytes(32, "little")])

    ring = OPRFKeyRing.load_or_create(tmp_path, random_scalar=lambda: next(scalars))
    ring.rotate()

    assert ring.get(1).scalar == (5).to_bytes(32, "little")
    assert ring.get(2).scalar == (6).to_bytes(32, "little")


def test_other_files_in_the_folder_are_ignored(tmp_path: Path) -> None:
    OPRFKeyRing.load_or_create(tmp_path)
    (tmp_path / "README").write_text("keys", encoding="utf-8")

    assert OPRFKeyRing.load(tmp_path).epochs == (1,)
