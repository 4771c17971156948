"""Regulator risk reports over the consortium (ARCHITECTURE §6.4, issues #6 and #13).

The bureau coordinates (``coordinator``, journalled in ``board``), members answer with noised,
masked histogram vectors (``responder``) after counting how many members hold each person
under a members-only mask (``holders``), and the regulator's client signs the order and turns
the release into a report (``client``). The statistics live in ``gateway.reports``.
"""
