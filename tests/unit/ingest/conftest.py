from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from gateway.ingest import ImportSummary, run_import
from gateway.store import Store, open_store

from .samples import identity_mapping, write_csv


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store migrated once; each test copies it instead of migrating again."""
    path = tmp_path_factory.mktemp("template") / "store.db"
    open_store(f"sqlite:///{path}").close()
    return path


@pytest.fixture
def store(template_db: Path, tmp_path: Path) -> Iterator[Store]:
    path = tmp_path / "store.db"
    shutil.copy(template_db, path)
    opened = open_store(f"sqlite:///{path}")
    yield opened
    opened.close()


ImportRows = Callable[..., ImportSummary]


@pytest.fixture
def import_rows(store: Store, tmp_path: Path) -> ImportRows:
    """Write rows to a CSV with an identity mapping and import them."""
    counter = iter(range(1_000_000))

    def run(kind: str, rows: Sequence[Mapping[str, str]], **kwargs: object) -> ImportSummary:
        number = next(counter)
        data = write_csv(tmp_path / f"{kind}-{number}.csv", rows)
        mapping = identity_mapping(tmp_path / f"{kind}-{number}.toml", kind, list(rows[0].keys()))
        return run_import(store, kind, data, mapping, **kwargs)  # type: ignore[arg-type]

    return run
