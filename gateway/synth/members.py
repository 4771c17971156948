"""Consortium members: roles, composition and member ids."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from gateway.errors import InvalidInputError

MIN_MEMBERS = 3


class MemberRole(enum.StrEnum):
    """What kind of institution a member is."""

    BANK = "bank"
    CONSUMER_FINANCE = "consumer_finance"
    MICRO_LENDER = "micro_lender"
    AGENCY = "agency"

    @property
    def id_prefix(self) -> str:
        """Return the prefix of this role's member ids (``bank``, ``cfc``, ``mlc``, ``agency``)."""
        return _PREFIXES[self]

    @property
    def is_lender(self) -> bool:
        """Return whether members of this role hold loan books (every role but ``agency``)."""
        return self is not MemberRole.AGENCY


_PREFIXES = {
    MemberRole.BANK: "bank",
    MemberRole.CONSUMER_FINANCE: "cfc",
    MemberRole.MICRO_LENDER: "mlc",
    MemberRole.AGENCY: "agency",
}


@dataclass(frozen=True, slots=True)
class Member:
    """One institution of the synthetic consortium.

    Attributes
    ----------
    member_id
        Stable id such as ``bank-2``; also the name of its output folder.
    role
        Its :class:`MemberRole`.
    ordinal
        1-based position among the members of the same role.

    """

    member_id: str
    role: MemberRole
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
            raise InvalidInputError(f"expected at least {MIN_MEMBERS} members, received {members}",
                                    field="members")
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
        counts = dict.fromkeys(MemberRole, 0)
        for part in filter(None, (piece.strip() for piece in text.split(","))):
            role_text, sep, count_text = part.partition("=")
            try:
                role = MemberRole(role_text.strip())
            except ValueError:
                raise InvalidInputError(f"expected roles {[r.value for r in MemberRole]}, received "
                                        f"{role_text.strip()!r}", field="composition") from None
            if not sep or not count_text.strip().isdigit():
                raise InvalidInputError(f"expected role=count, received {part!r}", field="composition")
            counts[role] = int(count_text)
        composition = cls(
            bank=counts[MemberRole.BANK],
            consumer_finance=counts[MemberRole.CONSUMER_FINANCE],
            micro_lender=counts[MemberRole.MICRO_LENDER],
            agency=counts[MemberRole.AGENCY],
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
            raise InvalidInputError(f"expected at least {MIN_MEMBERS} members, received {self.total}",
                                    field="composition")
        if self.total - self.agency < 1:
            raise InvalidInputError("expected at least one lender (bank, consumer_finance or micro_lender)",
                                    field="composition")

    def members(self) -> tuple[Member, ...]:
        """Return the members in order: banks, consumer-finance companies, micro-lenders, agencies.

        Returns
        -------
        tuple of Member
            Members with ids such as ``bank-1``, ``cfc-1``, ``mlc-1``, ``agency-1``.

        """
        plan = (
            (MemberRole.BANK, self.bank),
            (MemberRole.CONSUMER_FINANCE, self.consumer_finance),
            (MemberRole.MICRO_LENDER, self.micro_lender),
            (MemberRole.AGENCY, self.agency),
        )
        return tuple(
            Member(f"{role.id_prefix}-{ordinal}", role, ordinal)
            for role, count in plan
            for ordinal in range(1, count + 1)
        )
