"""Member-local reference numbers: customer numbers, loan numbers and record ids.

Each member numbers its own customers, so the same person has unrelated
``borrower_ref`` values at different members: numbers start at a random base
and are handed out in a member-specific shuffled order. Loan numbers follow
opening dates, as core systems issue them.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable

from gateway.synth.accounts import Account
from gateway.synth.schemas import Dialect


class RefBook:
    """Builder of one member's references; filled during generation, read by the writer.

    Parameters
    ----------
    dialect
        The member's dialect, which holds the reference patterns.
    rng
        Generator dedicated to this member's references.

    """

    def __init__(self, dialect: Dialect, rng: random.Random) -> None:
        self._dialect = dialect
        self._rng = rng
        self._counters = {kind: rng.randrange(1_000, 90_000) for kind in dialect.refs}
        self._borrowers: dict[int, str] = {}
        self._accounts: dict[int, str] = {}

    def next_ref(self, kind: str, when: dt.date) -> str:
        """Return the next reference of a kind (``application``, ``contact``, ``blacklist``, ``consent``).

        Parameters
        ----------
        kind
            Reference kind, a key of the dialect's patterns.
        when
            Date embedded by patterns that carry one.

        Returns
        -------
        str
            A reference unique within this member and kind.

        """
        self._counters[kind] += 1
        return self._dialect.refs[kind].format(seq=self._counters[kind], date=when)

    def assign_borrowers(self, person_indices: Iterable[int]) -> None:
        """Give every person the member knows a customer number, in shuffled order.

        Parameters
        ----------
        person_indices
            Indices of the member's customers (account holders and applicants).

        """
        order = sorted(set(person_indices))
        self._rng.shuffle(order)
        for person_index in order:
            self._borrowers[person_index] = self.next_ref("borrower", dt.date.min)

    def assign_accounts(self, accounts: Iterable[Account]) -> None:
        """Give the member's accounts references in opening (or entrustment) order.

        Parameters
        ----------
        accounts
            The member's accounts.

        """

        def issued(account: Account) -> tuple[dt.date, int]:
            return (account.entrusted_on or account.opened_on, account.row.row_id)

        for account in sorted(accounts, key=issued):
            self._accounts[account.row.row_id] = self.next_ref("account", issued(account)[0])

    def borrower(self, person_index: int) -> str:
        """Return the member's customer number for a person.

        Raises
        ------
        KeyError
            When the member does not know the person (a generator bug).

        """
        return self._borrowers[person_index]

    def account(self, account: Account) -> str:
        """Return the member's reference for one of its accounts.

        Raises
        ------
        KeyError
            When the account is not the member's (a generator bug).

        """
        return self._accounts[account.row.row_id]

    @property
    def person_indices(self) -> list[int]:
        """Return the indices of the member's customers in ascending order."""
        return sorted(self._borrowers)
