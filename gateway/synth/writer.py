"""Rendering a generated consortium: CSV files, column mappings, manifest and truth.

Layout under the output directory::

    manifest.json                 seed, members, counts, data-set hash
    truth.json                    GROUND TRUTH, synthetic data only
    <member_id>/<kind>.csv        the member's own column names, UTF-8
    <member_id>/<kind>.mapping.toml

Files are written with Unix line endings and no timestamps, so the same
options give byte-identical output.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from gateway.errors import InvalidInputError
from gateway.synth.consortium import ConsortiumResult, MemberData
from gateway.synth.schemas import KINDS

FORMAT_VERSION = 1
MAPPING_TIMEZONE = "Asia/Shanghai"


def write_consortium(result: ConsortiumResult, out: Path) -> Path:
    """Write every member's files, the manifest and the ground truth under ``out``.

    Parameters
    ----------
    result
        A generated consortium.
    out
        Output directory, created when missing; existing files are overwritten.

    Returns
    -------
    Path
        The manifest written.

    Raises
    ------
    InvalidInputError
        When ``out`` cannot be written.

    """
    try:
        out.mkdir(parents=True, exist_ok=True)
        for data in result.members:
            folder = out / data.member.member_id
            folder.mkdir(exist_ok=True)
            for kind in KINDS:
                mapping = data.dialect.mapping(kind)
                (folder / f"{kind}.csv").write_bytes(render_csv(data, kind).encode("utf-8"))
                (folder / f"{kind}.mapping.toml").write_text(render_mapping(kind, mapping), encoding="utf-8")
        _write_json(out / "truth.json", truth(result))
        manifest_path = out / "manifest.json"
        _write_json(manifest_path, manifest(result))
    except OSError as exc:
        raise InvalidInputError(f"cannot write the output directory {out}", field="out") from exc
    return manifest_path


def render_csv(data: MemberData, kind: str) -> str:
    """Return one member's file of one kind, header first.

    Parameters
    ----------
    data
        The member's export.
    kind
        One of the six kinds.

    Returns
    -------
    str
        CSV text with the member's column names.

    """
    mapping = data.dialect.mapping(kind)
    fields = list(mapping)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(mapping.values())
    naive = data.dialect.naive_timestamps
    for record in data.records[kind]:
        row = record.fields(data.book, naive=naive)
        writer.writerow([row[field] for field in fields])
    return buffer.getvalue()


def render_mapping(kind: str, mapping: dict[str, str]) -> str:
    """Return the ``<kind>.mapping.toml`` text the importer reads.

    Parameters
    ----------
    kind
        The file kind.
    mapping
        Canonical field → file column.

    Returns
    -------
    str
        TOML with ``kind``, ``timezone`` and a ``[columns]`` table.

    """
    lines = [f"kind = {_toml_string(kind)}", f"timezone = {_toml_string(MAPPING_TIMEZONE)}", "", "[columns]"]
    lines += [f"{field} = {_toml_string(column)}" for field, column in mapping.items()]
    return "\n".join(lines) + "\n"


def manifest(result: ConsortiumResult) -> dict[str, Any]:
    """Return the manifest: what was generated, from what, and how many rows.

    Parameters
    ----------
    result
        A generated consortium.

    Returns
    -------
    dict
        JSON-ready manifest.

    """
    options = result.options
    return {
        "format_version": FORMAT_VERSION,
        "synthetic": True,
        "seed": options.seed,
        "people": len(result.people),
        "as_of": options.as_of.isoformat(),
        "dataset": {"name": result.dataset_name, "sha256": result.dataset_sha256},
        "members": [
            {
                "id": d.member.member_id,
                "role": d.member.role.value,
                "folder": d.member.member_id,
                "dialect": d.dialect.name,
            }
            for d in result.members
        ],
        "counts": result.counts(),
        "multi_lender_share": round(result.multi_lender_share, 4),
    }


def truth(result: ConsortiumResult) -> dict[str, Any]:
    """Return the ground truth linking each person to their references at every member.

    Parameters
    ----------
    result
        A generated consortium.

    Returns
    -------
    dict
        JSON-ready ground truth; it exists only because the data are synthetic.

    """
    books = {data.member.member_id: data.book for data in result.members}
    holdings: list[dict[str, dict[str, Any]]] = [{} for _ in result.people]
    for data in result.members:
        for person_index in data.book.person_indices:
            holdings[person_index][data.member.member_id] = {
                "member_id": data.member.member_id,
                "borrower_ref": data.book.borrower(person_index),
                "account_refs": [],
                "uci_ids": [],
            }
    for account in result.accounts:
        entry = holdings[account.person_index][account.member_id]
        entry["account_refs"].append(books[account.member_id].account(account))
        entry["uci_ids"].append(account.row.row_id)
    order = {data.member.member_id: position for position, data in enumerate(result.members)}
    return {
        "WARNING": "GROUND TRUTH FOR SYNTHETIC DATA ONLY: links every person across members. "
        "Never produce or load such a file for real borrowers.",
        "synthetic": True,
        "seed": result.options.seed,
        "people": [
            {
                "index": person.index,
                "resident_id": person.resident_id,
                "uci_default": person.first_row.defaulted,
                "holdings": sorted(holdings[person.index].values(), key=lambda h: order[h["member_id"]]),
            }
            for person in result.people
        ],
    }


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
