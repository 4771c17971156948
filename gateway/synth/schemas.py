"""Each member's own file layout: column names, reference formats and timestamp style.

Real institutions export with their own vocabularies: abbreviated pinyin
(``zjhm`` for 证件号码), English core-banking names (``cust_no``) or a collection
system's case fields. Each member gets one dialect; the importer learns it from
the ``<kind>.mapping.toml`` files that :mod:`gateway.synth.writer` writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.roles import Role
from gateway.synth.members import Member

KINDS = ("borrowers", "accounts", "applications", "contacts", "blacklist", "consents")
MONTHLY = ("repayment_status", "statement_balance", "amount_paid")


@dataclass(frozen=True, slots=True)
class Dialect:
    """A member's column vocabulary and reference formats.

    Attributes
    ----------
    name
        Short label used in the manifest.
    columns
        For each kind, ``(canonical field, file column)`` pairs in file order.
        Monthly fields are given once with ``{i}`` standing for the month 1–6.
    refs
        ``str.format`` patterns per reference kind, with ``seq`` (an int) and
        ``date`` (a date or datetime).
    naive_timestamps
        Write local Asia/Shanghai times without an offset when true, else with ``+08:00``.

    """

    name: str
    columns: dict[str, tuple[tuple[str, str], ...]]
    refs: dict[str, str]
    naive_timestamps: bool

    def mapping(self, kind: str) -> dict[str, str]:
        """Return canonical field → file column for one kind, monthly fields expanded.

        Parameters
        ----------
        kind
            One of :data:`KINDS`.

        Returns
        -------
        dict of str to str
            Ordered as the file's columns.

        """
        expanded: dict[str, str] = {}
        for field, column in self.columns[kind]:
            if "{i}" in field:
                for month in range(1, 7):
                    expanded[field.format(i=month)] = column.format(i=month)
            else:
                expanded[field] = column
        return expanded


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    return tuple((field, column) for field, _, column in (item.partition("=") for item in text.split()))


_MONTHS = "repayment_status_m{i}={a}{i} statement_balance_m{i}={b}{i} amount_paid_m{i}={c}{i}"

PINYIN = Dialect(
    name="pinyin",
    columns={
        "borrowers": _pairs(
            "borrower_ref=kh_no resident_id=zjhm name=khxm mobile=sjhm address=jtdz "
            "province=sf gender=xb education=xl marital_status=hyzk"
        ),
        "accounts": _pairs(
            "account_ref=jjh borrower_ref=kh_no segment=ywlx product=cpdm credit_limit=sxed "
            "principal=dkbj outstanding=dkye days_past_due=yqts status=zhzt opened_on=khrq "
            "closed_on=xhrq defaulted=wybz " + _MONTHS.format(a="hkzt_", b="zdje_", c="shje_", i="{i}")
        ),
        "applications": _pairs(
            "application_ref=sqbh borrower_ref=kh_no applied_at=sqsj segment=ywlx "
            "amount_requested=sqje decision=spjg"
        ),
        "contacts": _pairs(
            "contact_ref=csjl_id account_ref=jjh attempted_at=cssj channel=csfs "
            "contact_number=lxdh connected=sfjt agency_member_id=wwjg outcome=csjg"
        ),
        "blacklist": _pairs(
            "entry_ref=hmd_id borrower_ref=kh_no reason=lryy evidence_ref=zjbh "
            "listed_on=lrrq expires_on=dqrq appeal_state=sszt"
        ),
        "consents": _pairs(
            "consent_ref=sqs_no borrower_ref=kh_no purpose=sqyt counterparty_scope=sqfw "
            "granted_on=sqrq expires_on=yxqz revoked_on=chrq"
        ),
    },
    refs={
        "borrower": "KH{seq:010d}",
        "account": "JJ{date:%Y%m}{seq:06d}",
        "application": "SQ{date:%Y%m%d}{seq:06d}",
        "contact": "CS{seq:09d}",
        "blacklist": "HMD{seq:06d}",
        "consent": "SQS{seq:08d}",
    },
    naive_timestamps=True,
)

CORE_BANKING = Dialect(
    name="core_banking",
    columns={
        "borrowers": _pairs(
            "borrower_ref=cust_no resident_id=id_card_no name=cust_name mobile=mobile_no "
            "address=home_addr province=province_name gender=sex education=edu_level "
            "marital_status=marriage"
        ),
        "accounts": _pairs(
            "account_ref=loan_no borrower_ref=cust_no segment=biz_type product=product_code "
            "credit_limit=credit_line principal=loan_amt outstanding=balance "
            "days_past_due=overdue_days status=acct_status opened_on=open_date "
            "closed_on=close_date defaulted=default_flag "
            + _MONTHS.format(a="pay_status_m", b="stmt_bal_m", c="paid_amt_m", i="{i}")
        ),
        "applications": _pairs(
            "application_ref=apply_no borrower_ref=cust_no applied_at=apply_time "
            "segment=biz_type amount_requested=apply_amt decision=approve_result"
        ),
        "contacts": _pairs(
            "contact_ref=call_id account_ref=loan_no attempted_at=call_time "
            "channel=channel_type contact_number=phone_no connected=is_connected "
            "agency_member_id=outsource_org "
            "outcome=call_result"
        ),
        "blacklist": _pairs(
            "entry_ref=blk_id borrower_ref=cust_no reason=blk_reason "
            "evidence_ref=evidence_no listed_on=list_date expires_on=expire_date "
            "appeal_state=appeal_status"
        ),
        "consents": _pairs(
            "consent_ref=auth_no borrower_ref=cust_no purpose=auth_purpose "
            "counterparty_scope=auth_scope granted_on=auth_date expires_on=auth_expire "
            "revoked_on=revoke_date"
        ),
    },
    refs={
        "borrower": "C{seq:09d}",
        "account": "LN{date:%Y}{seq:07d}",
        "application": "AP{date:%Y%m%d}{seq:06d}",
        "contact": "CL{seq:09d}",
        "blacklist": "BLK{seq:06d}",
        "consent": "AUTH{seq:08d}",
    },
    naive_timestamps=True,
)

CONSUMER = Dialect(
    name="consumer",
    columns={
        "borrowers": _pairs(
            "borrower_ref=customer_id resident_id=id_number name=full_name mobile=phone "
            "address=address province=province gender=gender education=education "
            "marital_status=marital"
        ),
        "accounts": _pairs(
            "account_ref=contract_no borrower_ref=customer_id segment=segment "
            "product=product_name credit_limit=limit_amount principal=principal_amount "
            "outstanding=outstanding_amount days_past_due=dpd status=status "
            "opened_on=start_date closed_on=end_date defaulted=bad_flag "
            + _MONTHS.format(a="delinquency_m", b="bill_amount_m", c="repayment_amount_m", i="{i}")
        ),
        "applications": _pairs(
            "application_ref=application_id borrower_ref=customer_id "
            "applied_at=submitted_at segment=segment "
            "amount_requested=requested_amount decision=decision"
        ),
        "contacts": _pairs(
            "contact_ref=attempt_id account_ref=contract_no attempted_at=attempt_time "
            "channel=channel contact_number=dialled_number connected=answered "
            "agency_member_id=agency_code outcome=result"
        ),
        "blacklist": _pairs(
            "entry_ref=listing_id borrower_ref=customer_id reason=reason_code "
            "evidence_ref=evidence_id listed_on=listed_date expires_on=expiry_date "
            "appeal_state=appeal"
        ),
        "consents": _pairs(
            "consent_ref=consent_id borrower_ref=customer_id purpose=purpose "
            "counterparty_scope=scope granted_on=granted_date expires_on=expiry_date "
            "revoked_on=withdrawn_date"
        ),
    },
    refs={
        "borrower": "CU{seq:08d}",
        "account": "HT{date:%Y}{seq:07d}",
        "application": "APP{date:%Y%m%d}{seq:05d}",
        "contact": "AT{seq:09d}",
        "blacklist": "LST{seq:06d}",
        "consent": "CNS{seq:08d}",
    },
    naive_timestamps=False,
)

AGENCY = Dialect(
    name="collection",
    columns={
        "borrowers": _pairs(
            "borrower_ref=debtor_id resident_id=debtor_idno name=debtor_name "
            "mobile=debtor_mobile address=debtor_addr province=debtor_province "
            "gender=debtor_sex"
        ),
        "accounts": _pairs(
            "account_ref=case_no borrower_ref=debtor_id segment=biz_line product=product "
            "credit_limit=orig_limit principal=orig_principal outstanding=entrusted_balance "
            "days_past_due=overdue_days status=case_status opened_on=loan_open_date "
            "closed_on=loan_close_date defaulted=default_flag entrusted_by=client_org "
            "entrustment_expires_on=entrust_end_date "
            + _MONTHS.format(a="m_status_", b="m_bill_", c="m_paid_", i="{i}")
        ),
        "applications": _pairs(
            "application_ref=app_no borrower_ref=debtor_id applied_at=app_time "
            "segment=biz_line amount_requested=app_amount decision=app_result"
        ),
        "contacts": _pairs(
            "contact_ref=record_no account_ref=case_no attempted_at=dial_time "
            "channel=contact_way contact_number=dial_number connected=connected_flag "
            "agency_member_id=agency_id "
            "outcome=disposition"
        ),
        "blacklist": _pairs(
            "entry_ref=entry_no borrower_ref=debtor_id reason=reason "
            "evidence_ref=evidence_no listed_on=listed_on expires_on=expires_on "
            "appeal_state=appeal_state"
        ),
        "consents": _pairs(
            "consent_ref=consent_no borrower_ref=debtor_id purpose=purpose_code "
            "counterparty_scope=scope granted_on=sign_date expires_on=valid_until "
            "revoked_on=revoke_date"
        ),
    },
    refs={
        "borrower": "D{seq:08d}",
        "account": "CASE{date:%Y}{seq:06d}",
        "application": "A{date:%Y%m%d}{seq:05d}",
        "contact": "R{seq:010d}",
        "blacklist": "E{seq:06d}",
        "consent": "AC{seq:08d}",
    },
    naive_timestamps=False,
)


def variant(base: Dialect, name: str, renames: dict[str, str], refs: dict[str, str]) -> Dialect:
    """Return a copy of a dialect with some columns renamed and some reference patterns replaced.

    Parameters
    ----------
    base
        The dialect to vary.
    name
        Name of the variant.
    renames
        Old column (or monthly column pattern) → new one, applied in every kind.
    refs
        Reference patterns to replace.

    Returns
    -------
    Dialect
        The variant.

    """
    columns = {
        kind: tuple((field, renames.get(column, column)) for field, column in pairs)
        for kind, pairs in base.columns.items()
    }
    return Dialect(
        name=name, columns=columns, refs={**base.refs, **refs}, naive_timestamps=base.naive_timestamps
    )


CORE_BANKING_B = variant(
    CORE_BANKING,
    "core_banking_b",
    {
        "cust_no": "client_no",
        "loan_no": "acct_no",
        "id_card_no": "cert_no",
        "cust_name": "client_name",
        "balance": "curr_bal",
        "overdue_days": "ovd_days",
        "pay_status_m{i}": "repay_flag_{i}",
    },
    {"borrower": "K{seq:011d}", "account": "AC{date:%Y%m}{seq:07d}"},
)
CONSUMER_B = variant(
    CONSUMER,
    "consumer_b",
    {
        "customer_id": "user_id",
        "contract_no": "loan_id",
        "id_number": "id_card",
        "dpd": "days_overdue",
        "bill_amount_m{i}": "bill_m{i}",
    },
    {"borrower": "U{seq:09d}", "account": "ML{date:%Y%m%d}{seq:06d}"},
)
AGENCY_B = variant(
    AGENCY,
    "collection_b",
    {
        "case_no": "case_id",
        "debtor_id": "obligor_no",
        "client_org": "principal_org",
        "dial_time": "contact_time",
    },
    {"borrower": "OB{seq:08d}", "account": "CZ{date:%Y}{seq:07d}"},
)


def dialect_for(member: Member) -> Dialect:
    """Return the dialect a member exports in.

    Banks cycle through core-banking English, pinyin abbreviations and a
    second core-banking system; consumer-finance companies and micro-lenders
    use plain English (two variants); agencies use their collection system's
    case fields (two variants).

    Parameters
    ----------
    member
        The member.

    Returns
    -------
    Dialect
        Its vocabulary.

    """
    if member.role is Role.AGENCY:
        return AGENCY if member.ordinal % 2 == 1 else AGENCY_B
    if member.role is Role.BANK:
        return (CORE_BANKING, PINYIN, CORE_BANKING_B)[(member.ordinal - 1) % 3]
    if member.role is Role.MICRO_LENDER:
        return CONSUMER_B if member.ordinal % 2 == 1 else CONSUMER
    return CONSUMER if member.ordinal % 2 == 1 else CONSUMER_B
