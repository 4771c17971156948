"""Signed notes, checkpoints and co-signatures against Go's sumdb/note vectors and the C2SP example."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.crypto.ed25519 import Ed25519Key
from gateway.tlog.errors import NoteError
from gateway.tlog.note import (
    COSIGNATURE_TYPE,
    Checkpoint,
    NoteSigner,
    NoteVerifier,
    SignedNote,
    cosign,
    sign_checkpoint,
    verify_checkpoint,
    verify_cosignature,
)

V = json.loads((Path(__file__).parents[2] / "vectors" / "signed_note_go.json").read_text(encoding="utf-8"))


def test_signing_the_go_vector_gives_the_published_note() -> None:
    signer = NoteSigner.from_skey(V["skey"])

    note = SignedNote(V["text"], (signer.sign(V["text"]),))

    assert signer.verifier.vkey == V["peter_vkey"]
    assert note.render() == V["text"] + "\n" + V["peter_sig"]


def test_opening_the_go_vector_verifies_known_keys_and_ignores_unknown_ones() -> None:
    peter, enoch = NoteVerifier.from_vkey(V["peter_vkey"]), NoteVerifier.from_vkey(V["enoch_vkey"])
    note = SignedNote.parse(V["text"] + "\n" + V["peter_sig"] + V["enoch_sig"])

    assert note.text == V["text"]
    assert note.verify([peter]) == [peter]
    assert note.verify([peter, enoch]) == [peter, enoch]
    with pytest.raises(NoteError, match="no verifiable signatures"):
        note.verify([])


def test_a_known_key_whose_signature_fails_rejects_the_note() -> None:
    peter = NoteVerifier.from_vkey(V["peter_vkey"])
    sig = V["peter_sig"]
    broken = SignedNote.parse(V["text"] + "\n" + sig[:60] + "ABCD" + sig[60:])

    with pytest.raises(NoteError, match="invalid signature for key PeterNeumann"):
        broken.verify([peter])


@pytest.mark.parametrize(
    "suffix",
    [
        "",
        "\n",
        "\n" + V["peter_sig"][:-1],
        "\n\u2014 Bad Name " + V["peter_sig"].split(" ", 2)[2].rstrip("\n"),
        "\n" + V["peter_sig"] + "Unexpected line.\n",
    ],
)
def test_malformed_notes_from_the_go_suite_are_refused(suffix: str) -> None:
    with pytest.raises(NoteError, match="malformed note"):
        SignedNote.parse(V["text"] + suffix)


@pytest.mark.parametrize("prefix", [b"\x01", b"\xff"])
def test_control_characters_and_bad_utf8_are_refused(prefix: bytes) -> None:
    with pytest.raises(NoteError, match="malformed note"):
        SignedNote.parse(prefix + (V["text"] + "\n" + V["peter_sig"]).encode())


def test_mangled_verifier_keys_are_refused() -> None:
    vkey = V["peter_vkey"]
    for i in range(len(vkey)):
        mangled = vkey[:i] + chr(ord(vkey[i]) + 1) + vkey[i + 1 :]
        with pytest.raises(NoteError):
            NoteVerifier.from_vkey(mangled)


def test_the_c2sp_cosignature_example_parses_to_its_checkpoint_and_timestamp() -> None:
    example = V["cosignature_example"]
    note = SignedNote.parse(example["note"])

    checkpoint = Checkpoint.from_text(note.text)
    line = note.signatures[1]

    assert (checkpoint.origin, checkpoint.size) == ("example.com/behind-the-sofa", 20852163)
    assert line.name == example["cosigner"]
    assert int.from_bytes(line.signature[:8], "big") == example["timestamp"]
    assert len(line.signature) == 8 + 64


def test_checkpoint_signing_and_cosigning_round_trip_and_fail_on_any_change() -> None:
    log_key, witness_key = Ed25519Key(bytes(range(32))), Ed25519Key(bytes(range(1, 33)))
    checkpoint = Checkpoint("credgate/audit/bank-1", 8, bytes(32))
    note = sign_checkpoint(checkpoint, NoteSigner("credgate/audit/bank-1", log_key))
    line = cosign(note.text, name="credgate/witness/bank-2", key=witness_key, timestamp=1_700_000_000)
    witness = NoteVerifier("credgate/witness/bank-2", witness_key.public_key, COSIGNATURE_TYPE)
    cosigned = SignedNote.parse(note.with_signatures([line]).render())

    assert verify_checkpoint(cosigned, NoteSigner("credgate/audit/bank-1", log_key).verifier) == checkpoint
    assert verify_cosignature(cosigned.text, cosigned.signatures[1], witness).timestamp == 1_700_000_000
    other = Checkpoint("credgate/audit/bank-1", 9, bytes(32)).text()
    with pytest.raises(NoteError, match="invalid co-signature"):
        verify_cosignature(other, line, witness)
    with pytest.raises(NoteError):
        sign_checkpoint(checkpoint, NoteSigner("credgate/audit/bank-2", log_key))
