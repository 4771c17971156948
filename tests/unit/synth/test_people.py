from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from gateway.errors import InvalidInputError
from gateway.identifiers import normalise_mobile, normalise_resident_id, resident_id_check_char
from gateway.synth import Composition, ConsortiumResult, SynthOptions, generate_consortium, load_seed_pii
from gateway.synth.regions import load_regions

from .conftest import AS_OF, ReadCanonical

CHINESE_NAME = re.compile(r"[\u4e00-\u9fff]{2,4}")


def test_every_resident_id_and_mobile_in_every_borrower_file_is_valid(
    member_ids: list[str], read_canonical: ReadCanonical
) -> None:
    for member_id in member_ids:
        rows = read_canonical(member_id, "borrowers")
        assert rows
        for row in rows:
            assert normalise_resident_id(row["resident_id"]) == row["resident_id"]
            assert normalise_mobile(row["mobile"]) == row["mobile"]


def test_every_contact_number_is_a_valid_mobile(member_ids: list[str], read_canonical: ReadCanonical) -> None:
    numbers = [
        row["contact_number"]
        for m in member_ids
        for row in read_canonical(m, "contacts")
        if row["contact_number"]
    ]
    assert numbers
    for number in numbers:
        assert normalise_mobile(number) == number


def test_resident_ids_and_mobiles_are_unique_across_people(consortium: ConsortiumResult) -> None:
    assert len({p.resident_id for p in consortium.people}) == len(consortium.people)
    assert len({p.mobile for p in consortium.people}) == len(consortium.people)


def test_resident_id_encodes_region_age_and_sex_of_the_first_uci_row(consortium: ConsortiumResult) -> None:
    as_of = consortium.options.as_of
    codes = {region.code for region in load_regions()}
    for person in consortium.people:
        rid = person.resident_id
        born = dt.date(int(rid[6:10]), int(rid[10:12]), int(rid[12:14]))
        age = as_of.year - born.year - ((as_of.month, as_of.day) < (born.month, born.day))
        assert rid[:6] in codes
        assert born == person.birth_date
        assert age == person.first_row.age
        assert (int(rid[16]) % 2 == 1) == (person.first_row.sex == 1)
        assert person.gender == ("male" if person.first_row.sex == 1 else "female")


def test_names_and_addresses_look_chinese(consortium: ConsortiumResult) -> None:
    for person in consortium.people:
        assert CHINESE_NAME.fullmatch(person.name)
        assert person.address.startswith(person.region.province)
        assert person.region.district in person.address
        assert "号" in person.address


def test_region_table_covers_about_forty_codes_in_fifteen_provinces() -> None:
    regions = load_regions()
    assert len(regions) >= 40
    assert len({region.province for region in regions}) >= 15
    for region in regions:
        assert region.code[:2] in {
            "11",
            "12",
            "13",
            "21",
            "31",
            "32",
            "33",
            "34",
            "35",
            "37",
            "41",
            "42",
            "43",
            "44",
            "50",
            "51",
            "61",
        }


def test_surnames_follow_common_frequencies(consortium: ConsortiumResult) -> None:
    surnames = [person.name[0] for person in consortium.people]
    top = {"王", "李", "张", "刘", "陈"}
    share = sum(1 for s in surnames if s in top) / len(surnames)
    # The generator is seeded, so the share is a fixed number (0.39 today); the band is wide.
    assert 0.2 < share < 0.45


def make_seed_file(tmp_path: Path, people: list[dict[str, str]]) -> Path:
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(people, ensure_ascii=False), encoding="utf-8")
    return path


def test_seed_pii_people_are_planted_first_and_appear_in_the_files(tmp_path: Path) -> None:
    first17 = "33010619850412123"
    rid = first17 + resident_id_check_char(first17)
    seeds = load_seed_pii(
        make_seed_file(tmp_path, [{"resident_id": rid, "name": "金丝雀", "mobile": "+86 139 0000 0001"}])
    )
    result = generate_consortium(
        SynthOptions(people=50, seed=1, composition=Composition.default_for(4), as_of=AS_OF, seed_pii=seeds)
    )

    first = result.people[0]
    assert (first.resident_id, first.name, first.mobile) == (rid, "金丝雀", "13900000001")
    assert first.gender == "male"
    assert first.region.code == "330106"
    assert first.address.startswith("浙江省杭州市西湖区")


@pytest.mark.parametrize(
    "entry",
    [
        {"resident_id": "330106198504121230", "name": "x", "mobile": "13900000001"},
        {"resident_id": "110101199003070011", "name": "x", "mobile": "12900000001"},
        {"name": "x", "mobile": "13900000001"},
    ],
)
def test_seed_pii_with_a_bad_entry_is_rejected(tmp_path: Path, entry: dict[str, str]) -> None:
    with pytest.raises(InvalidInputError):
        load_seed_pii(make_seed_file(tmp_path, [entry]))
