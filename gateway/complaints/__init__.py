"""Complaint handling (投诉闭环): intake at any member, SLA clocks, escalation, closure with outcome.

A complaint stays at the member that received it; the entrusting lender and the agency
involved are linked by member id and by each other's reference (``docs/complaints.md``).
"""
