"""Conduct screening (智能催收监控) at the agency's or lender's own node.

Call transcripts and collection notes are screened for prohibited conduct — threats, insults,
false legal consequences, impersonating courts, police or government, disclosing the debt to a
third party — and calls are checked against the quiet hours and the daily caps. Each flag names
its rule and its span and stays at the node; only counts by rule reach the regulator report
(``docs/conduct.md``). This is a detector set of its own, separate from the egress guard.
"""
