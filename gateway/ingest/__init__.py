"""Importer: CSV/Parquet files of a member's book into the local store.

Bad rows go to the ``import_quarantine`` table with the field and the reason;
``run_import`` returns counts that always add up (read = imported +
quarantined + duplicates).
"""

from gateway.ingest.runner import ImportProgress, ImportSummary, Progress, run_import
from gateway.store.enums import ImportKind

__all__ = ["ImportKind", "ImportProgress", "ImportSummary", "Progress", "run_import"]
