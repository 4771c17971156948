"""``credgate subject``: a data subject's access to who queried them (ARCHITECTURE §6.5).

The subject makes a one-time key pair (``keygen``); any member relays the
request with the subject's consent (``inquiries``) and hands over the sealed
envelopes; only the subject's private key opens them (``open``).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gateway.config import Settings
from gateway.crypto.hpke import SealedBox
from gateway.crypto.keys import KeyPair
from gateway.errors import ImportFileError, InvalidInputError
from gateway.node.session import member_session
from gateway.node.subject_access import relay_subject_access
from gateway.queries.inquiries.records import open_records

app = typer.Typer(help="A data subject's view of who queried them.", no_args_is_help=True)
ConfigOption = Annotated[Path, typer.Option("--config", envvar="CREDGATE_CONFIG", help="Node TOML file.")]
_console = Console(width=140)
_ENVELOPES_VERSION = 1


@app.command("keygen")
def keygen(out: Annotated[Path, typer.Option(help="Folder for subject.key and subject.pub.")]) -> None:
    """Make the subject's one-time X25519 key pair (private key file mode 0600)."""
    pair = KeyPair.generate()
    out.mkdir(parents=True, exist_ok=True)
    private = out / "subject.key"
    private.touch(mode=0o600)
    private.write_text(pair.private_key.hex() + "\n", encoding="ascii")
    (out / "subject.pub").write_text(pair.public_key.hex() + "\n", encoding="ascii")
    _console.print(f"one-time key pair in {out}: give subject.pub to the institution, keep subject.key")


@app.command("inquiries")
def inquiries(
    config: ConfigOption,
    national_id: Annotated[str, typer.Option("--national-id", help="The subject's resident ID.")],
    subject_key: Annotated[
        str, typer.Option("--subject-key", help="The subject's public key (hex or file).")
    ],
    consent_ref: Annotated[
        str, typer.Option("--consent-ref", help="Reference of the subject's signed request.")
    ],
    out: Annotated[Path, typer.Option(help="Where to write the sealed envelopes for the subject.")],
) -> None:
    """Relay a subject's request: every member seals its inquiries about them to their key."""
    public_key = _read_key(subject_key, field="subject_key")
    settings = Settings.from_file(config)
    with member_session(settings) as session:
        # Signed by this member and recorded by every member (at most a few a day per relayer).
        envelopes, coverage = relay_subject_access(session, national_id, public_key, consent_ref)
        payload = {
            "version": _ENVELOPES_VERSION,
            "subject_public_key": public_key.hex(),
            "members_asked": coverage.members_asked,
            "members_answered": coverage.members_answered,
            "envelopes": [base64.b64encode(e.to_bytes()).decode("ascii") for e in envelopes],
        }
        session.egress.files.write_json(out, payload, kind="subject_envelopes")
    _console.print(
        f"{len(envelopes)} sealed envelopes from {coverage.members_answered} of "
        f"{coverage.members_asked} members written to {out}; only the subject's key opens them"
    )


@app.command("open")
def open_envelopes(
    key: Annotated[Path, typer.Option(help="The subject's private key file (subject.key).")],
    file: Annotated[Path, typer.Argument(help="The envelopes file from `credgate subject inquiries`.")],
) -> None:
    """Open the envelopes and list every inquiry: institution, date, reason."""
    private_key = _read_key(str(key), field="key")
    public_key = KeyPair.from_private(private_key).public_key
    try:
        payload = json.loads(file.read_text(encoding="utf-8"))
        boxes = [SealedBox.from_bytes(base64.b64decode(e)) for e in payload["envelopes"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ImportFileError(f"{file} is not an envelopes file from `credgate subject inquiries`") from exc
    records = sorted(
        r
        for box in boxes
        for r in open_records(box, subject_private_key=private_key, subject_public_key=public_key)
    )
    table = Table(
        "date", "institution", "reason", title=f"who queried this subject ({len(records)} inquiries)"
    )
    for record in records:
        table.add_row(record.date, record.institution, record.reason)
    _console.print(table)


def _read_key(value: str, *, field: str) -> bytes:
    path = Path(value)
    text = path.read_text(encoding="ascii").strip() if path.is_file() else value.strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise InvalidInputError("expected 64 hex characters or a file holding them", field=field) from None
    if len(key) != 32:
        raise InvalidInputError(f"expected a 32-byte key, received {len(key)} bytes", field=field)
    return key


def register(root: typer.Typer) -> None:
    """Add the ``subject`` command group to ``root``."""
    root.add_typer(app, name="subject")
