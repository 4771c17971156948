"""Chinese PII recognizers, one per module; importing this package registers them all."""

from gateway.egress.recognizers import (  # noqa: F401  (imported for registration)
    address,
    bank_card,
    email,
    lac,
    landline,
    license_plate,
    mobile,
    person,
    resident_id,
    uscc,
)
