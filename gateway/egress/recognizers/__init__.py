"""Chinese PII recognizers, one per module; importing this package registers them all."""

from gateway.egress.recognizers import (  # noqa: F401  (imported for registration)
    address,
    address_cue,
    bank_card,
    char_ner,
    email,
    lac,
    landline,
    license_plate,
    mobile,
    person,
    resident_id,
    suspect,
    uscc,
)
