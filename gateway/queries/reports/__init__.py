"""Regulator risk reports over the consortium (ARCHITECTURE §6.4, issue #6).

The bureau coordinates (``coordinator``), members answer with noised, masked histogram
vectors (``responder``), active borrowers are joined across members only as keyed
pseudonyms (``pseudonyms``), and the regulator's client turns the release into a report
(``client``). The statistics themselves live in ``gateway.reports``.
"""
