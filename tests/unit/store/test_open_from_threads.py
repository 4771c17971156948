"""open_store from many threads at once (#17 item 7: 79 of 160 failed inside alembic, whose
migration context is process-global)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gateway.store import open_store


def test_stores_open_and_migrate_from_threads(tmp_path: Path) -> None:
    def open_and_close(index: int) -> str:
        # Half the threads share one database, the others each migrate their own.
        name = "shared.db" if index % 2 else f"own-{index}.db"
        store = open_store(f"sqlite:///{tmp_path / name}")
        store.close()
        return name

    with ThreadPoolExecutor(max_workers=16) as pool:
        opened = list(pool.map(open_and_close, range(64)))

    assert len(opened) == 64
