"""Masked aggregation arithmetic shared by the subject check and the regulator reports.

Members encode integer vectors in the field modulo P = 2**61 − 1 and add a
querier mask plus pairwise masks (Bonawitz et al., CCS 2017); the bureau sums;
the querier removes ``|S|·R``. See ``docs/masked-aggregation.md``.
"""

from gateway.aggregation.context import MaskContext, answering_set_hash
from gateway.aggregation.contribution import MIN_ANSWERING_MEMBERS, mask_contribution, sum_contributions
from gateway.aggregation.field import P, decode, encode
from gateway.aggregation.pairwise import pairwise_mask
from gateway.aggregation.prg import expand
from gateway.aggregation.querier import query_mask, unmask_sum
from gateway.aggregation.self_mask import self_mask, self_mask_seed
from gateway.aggregation.verification import row_digests, verification_vector

__all__ = [
    "MIN_ANSWERING_MEMBERS",
    "MaskContext",
    "P",
    "answering_set_hash",
    "decode",
    "encode",
    "expand",
    "mask_contribution",
    "pairwise_mask",
    "query_mask",
    "row_digests",
    "self_mask",
    "self_mask_seed",
    "sum_contributions",
    "unmask_sum",
    "verification_vector",
]
