"""Chinese personal identifiers: normalisation and validation.

Used by the importer (to quarantine bad rows), the synthetic consortium (to
generate valid values) and, later, the egress guard and the OPRF tokeniser.
"""

from gateway.identifiers.mobile import normalise_mobile
from gateway.identifiers.resident_id import normalise_resident_id, resident_id_check_char

__all__ = ["normalise_mobile", "normalise_resident_id", "resident_id_check_char"]
