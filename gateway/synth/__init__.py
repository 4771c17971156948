"""Synthetic consortium: per-member import files built from real UCI accounts.

``credgate synth`` writes, for every member of a made-up consortium, the
borrower, account, application, contact, blacklist and consent files that the
importer reads, together with their column mappings, a manifest and a
ground-truth file. Identities are invented; every account's repayment history
is a real row of the UCI "default of credit card clients" data set.
"""

from gateway.synth.consortium import ConsortiumResult, SynthOptions, generate_consortium
from gateway.synth.members import Composition, Member
from gateway.synth.people import SeedPerson, load_seed_pii
from gateway.synth.writer import write_consortium

__all__ = [
    "Composition",
    "ConsortiumResult",
    "Member",
    "SeedPerson",
    "SynthOptions",
    "generate_consortium",
    "load_seed_pii",
    "write_consortium",
]
