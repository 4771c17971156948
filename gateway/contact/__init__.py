"""Consortium-wide contact clearance for collection (ARCHITECTURE §6.2, docs/contact.md).

Before a call, SMS, AI-voice call or visit, a lender or agency asks the bureau whether the
contact is allowed now; the bureau answers from per-day counters keyed with a secret only
members hold, so it can neither name the debtor nor follow them from one day to the next.
"""
