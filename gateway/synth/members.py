"""Consortium members: roles, composition and member ids."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.errors import InvalidInputError
from gateway.roles import Role

MIN_MEMBERS = 3


# Member institutions of the synthetic consortium and the prefixes of their ids.
_PREFIXES = {
    Role.BANK: "bank",
    Role.CONSUMER_FINANCE: "cfc",
    Role.MICRO_LENDER: "mlc",
    Role.AGENCY: "agency",
}


@dataclass(frozen=True, slots=True)
class Member:
    """One institution of the synthetic consortium.

    Attributes
    ----------
    member_id
        Stable id such as ``bank-2``; also the name of its output folder.
    role
        Its :class:`Role`.
    ordinal
        1-based position among the members of the same role.

    """

    member_id: str
    role: Role
    ordinal: int


@dataclass(frozen=True, slots=True)
class Composition:
    """How many members of each role the consortium has.

    Attributes
    ----------
    bank, consumer_finance, micro_lender, agency
        Member counts per role.

    """

    bank: int
    consumer_finance: int
    micro_lender: int
    agency: int

    @classmethod
    def default_for(cls, members: int) -> Composition:
        """Return the default composition: one agency, one consumer-finance company, the rest banks.

        Parameters
        ----------
        members
            Total number of members, at least three.

        Returns
        -------
        Composition
            The default split.

        Raises
        ------
        InvalidInputError
            When ``members`` is below three.

        """
        if members < MIN_MEMBERS:
            raise InvalidInputError(
                f"expected at least {MIN_MEMBERS} members, received {members}", field="members"
            )
        return cls(bank=members - 2, consumer_finance=1, micro_lender=0, agency=1)

    @classmethod
    def parse(cls, text: str) -> Composition:
        """Parse ``bank=3,consumer_finance=1,micro_lender=0,agency=1``; missing roles count zero.

        Parameters
        ----------
        text
            Comma-separated ``role=count`` pairs.

        Returns
        -------
        Composition
            The parsed composition, validated.

        Raises
        ------
        InvalidInputError
            On an unknown role, a bad count, fewer than three members or no lender.

        """
        counts = dict.fromkeys(_PREFIXES, 0)
        for part in filter(None, (piece.strip() for piece in text.split(","))):
            role_text, sep, count_text = part.partition("=")
            role = next((r for r in _PREFIXES if r.value == role_text.strip()), None)
            if role is None:
                raise InvalidInputError(
                    f"expected roles {[r.value for r in _PREFIXES]}, received {role_text.strip()!r}",
                    field="composition",
                )
            if not sep or not count_text.strip().isdigit():
                raise InvalidInputError(f"expected role=count, received {part!r}", field="composition")
            counts[role] = int(count_text)
        composition = cls(
            bank=counts[Role.BANK],
            consumer_finance=counts[Role.CONSUMER_FINANCE],
            micro_lender=counts[Role.MICRO_LENDER],
            agency=counts[Role.AGENCY],
        )
        composition.validate()
        return composition

    @property
    def total(self) -> int:
        """Return the number of members."""
        return self.bank + self.consumer_finance + self.micro_lender + self.agency

    def validate(self) -> None:
        """Check that there are at least three members and at least one lender.

        Raises
        ------
        InvalidInputError
            When the composition cannot form a consortium.

        """
        if self.total < MIN_MEMBERS:
            raise InvalidInputError(
                f"expected at least {MIN_MEMBERS} members, received {self.total}", field="composition"
            )
        if self.total - self.agency < 1:
            raise InvalidInputError(
                "expected at least one lender (bank, consumer_finance or micro_lender)", field="composition"
            )

    def members(self) -> tuple[Member, ...]:
        """Return the members in order: banks, consumer-finance companies, micro-lenders, agencies.

        Returns
        -------
        tuple of Member
            Members with ids such as ``bank-1``, ``cfc-1``, ``mlc-1``, ``agency-1``.

        """
        plan = (
            (Role.BANK, self.bank),
            (Role.CONSUMER_FINANCE, self.consumer_finance),
            (Role.MICRO_LENDER, self.micro_lender),
            (Role.AGENCY, self.agency),
        )
        return tuple(
            Member(f"{_PREFIXES[role]}-{ordinal}", role, ordinal)
            for role, count in plan
            for ordinal in range(1, count + 1)
        )
