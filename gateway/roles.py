"""The roles a consortium node can hold; the authoritative copy is in each node's certificate."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    """Role of a node in the consortium (ARCHITECTURE §2)."""

    BANK = "bank"
    CONSUMER_FINANCE = "consumer_finance"
    MICRO_LENDER = "micro_lender"
    AGENCY = "agency"
    BUREAU = "bureau"
    REGULATOR = "regulator"

    @property
    def is_lender(self) -> bool:
        """Whether nodes of this role hold loan books of their own."""
        return self in {Role.BANK, Role.CONSUMER_FINANCE, Role.MICRO_LENDER}
