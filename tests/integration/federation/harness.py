"""A consortium's Flower parts started in this process (SuperLink, SuperNodes are real children)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gateway.clock import system_clock
from gateway.config import Settings, default_policies_dir
from gateway.demo.provision import BUREAU_ID, NodePlan, provision_ca, provision_node
from gateway.federation.bundles import build_bundle, fab_sha256
from gateway.federation.control import ControlClient
from gateway.federation.parts import FederationParts, start_bureau_parts, start_member_parts
from gateway.federation.settings import FederationSettings
from gateway.identity.ca import CertificateAuthority
from gateway.identity.peer import Role
from gateway.identity.tls import TLSIdentity
from gateway.synth.books import Split

APP_DIR = Path(__file__).parent / "fedtest_app"
#: The shared model's bundle (federated/bundle), allow-listed with ``apps=(APP_DIR, REAL_BUNDLE)``.
REAL_BUNDLE = Path(__file__).resolve().parents[3] / "federated" / "bundle"
MEMBERS = (
    ("bank-1", Role.BANK),
    ("bank-2", Role.BANK),
    ("cfc-1", Role.CONSUMER_FINANCE),
    ("bank-3", Role.BANK),
    ("micro-1", Role.MICRO_LENDER),
)


@dataclass
class Federation:
    """The started parts and what tests need to reach them."""

    root: Path
    authority: CertificateAuthority
    policies: Path
    bureau: Settings
    relay_address: str
    control: ControlClient
    members: dict[str, Settings] = field(default_factory=dict)
    parts: list[FederationParts] = field(default_factory=list)

    def provision(self, member_id: str, role: Role) -> Settings:
        """Issue a certificate and node folder for another participant."""
        plan = NodePlan(member_id, role, self.root / "nodes" / member_id)
        plan.directory.mkdir(parents=True, exist_ok=True)
        return provision_node(
            self.authority,
            plan,
            bureau_address="127.0.0.1:1",
            heartbeat_seconds=1.0,
            now=system_clock(),
            policies_dir=self.policies,
        )

    def start_member(self, member_id: str, role: Role) -> FederationParts:
        """Start a member's gateway and SuperNode against the relay."""
        settings = self.provision(member_id, role)
        self.members[member_id] = settings
        parts = start_member_parts(
            settings, TLSIdentity.from_settings(settings.tls), self.federation(settings)
        )
        self.parts.append(parts)
        return parts

    def federation(self, settings: Settings) -> FederationSettings:
        """Federation settings of a node in this consortium."""
        return FederationSettings(
            enabled=True,
            relay_listen=self.relay_address,
            relay_address=self.relay_address,
            bundles_path=self.policies / "federated_bundles.toml",
            state_dir=settings.data_dir / "federation",
        )


def import_book(
    federation: Federation, book: str, *, split: Split = "segment", rows: int | None = None, seed: int = 7
) -> dict[str, int]:
    """Cut a shipped external book across the running members and import each part into its store.

    The same path a lender takes: ``features.csv`` plus mapping, ``credgate import features``'s
    validated import into ``model_rows``. Returns the rows imported per member.
    """
    from federated.features.spec import load_spec
    from gateway.ingest.features import run_feature_import
    from gateway.store import open_store
    from gateway.synth.books import FEATURES_FILE, FEATURES_MAPPING, book_spec, external_book, write_book

    spec = load_spec(book_spec(book))
    books = external_book(book, list(federation.members), split=split, rows=rows, seed=seed)
    imported: dict[str, int] = {}
    for member_id, cells in books.items():
        folder = federation.root / "books" / member_id
        write_book(folder, member_id, cells, book=book)
        store = open_store(federation.members[member_id].store_url)
        try:
            summary = run_feature_import(store, folder / FEATURES_FILE, folder / FEATURES_MAPPING, spec)
        finally:
            store.close()
        imported[member_id] = summary.rows_imported
    return imported


def allow_list_text(*digests: str) -> str:
    """A federated_bundles.toml allowing ``digests``."""
    return "".join(f'[[bundle]]\nname = "test"\nsource = "tests"\nsha256 = "{d}"\n\n' for d in digests)


@contextmanager
def running_federation(
    root: Path, *, members: int = 3, apps: tuple[Path, ...] = (APP_DIR,)
) -> Iterator[Federation]:
    """CA, bureau parts and ``members`` member parts (at most five); the bundles ``apps`` allow-listed."""
    policies = root / "policies"
    shutil.copytree(default_policies_dir(), policies)
    (policies / "federated_bundles.toml").write_text(
        allow_list_text(*(fab_sha256(build_bundle(app)) for app in apps)), encoding="utf-8"
    )
    authority = provision_ca(root / "ca", now=system_clock())
    plan = NodePlan(BUREAU_ID, Role.BUREAU, root / "nodes" / BUREAU_ID)
    plan.directory.mkdir(parents=True)
    bureau = provision_node(
        authority, plan, bureau_address=None, heartbeat_seconds=1.0, now=system_clock(),
        policies_dir=policies,
    )  # fmt: skip
    settings = FederationSettings(True, "127.0.0.1:0", None, policies / "federated_bundles.toml",
                                  bureau.data_dir / "federation")  # fmt: skip
    bureau_parts = start_bureau_parts(bureau, TLSIdentity.from_settings(bureau.tls), settings)
    info = bureau_parts.info
    control = ControlClient(int(str(info["superlink_port"])), ca_cert=bureau.tls.ca_cert)
    federation = Federation(root, authority, policies, bureau, str(info["relay_address"]), control)
    try:
        for member_id, role in MEMBERS[:members]:
            federation.start_member(member_id, role)
        yield federation
    finally:
        control.close()
        for parts in reversed(federation.parts):
            parts.stop()
        bureau_parts.stop()
