"""Fast checks of the allow-list, the fleet route table and the [federation] settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.errors import ConfigError
from gateway.federation.bundles import BundleAllowList, build_bundle, fab_sha256
from gateway.federation.errors import BundleNotAllowed
from gateway.federation.routes import FLEET_ROUTES, carried
from gateway.federation.settings import RELAY_ENV, FederationSettings
from gateway.federation.supernode import node_config
from gateway.identity.peer import Role

from .harness import APP_DIR, allow_list_text

ProvisionNode = Callable[..., Settings]


def test_an_empty_or_missing_allow_list_denies_every_bundle(tmp_path: Path) -> None:
    missing = BundleAllowList.from_file(tmp_path / "absent.toml")
    (tmp_path / "empty.toml").write_text("", encoding="utf-8")
    empty = BundleAllowList.from_file(tmp_path / "empty.toml")

    for allow_list in (missing, empty):
        with pytest.raises(BundleNotAllowed):
            allow_list.check("0" * 64)


def test_the_allow_list_checks_the_hash_of_the_bytes_themselves(tmp_path: Path) -> None:
    fab = build_bundle(APP_DIR)
    path = tmp_path / "federated_bundles.toml"
    path.write_text(allow_list_text(fab_sha256(fab)), encoding="utf-8")
    allow_list = BundleAllowList.from_file(path)

    allow_list.check_content(fab)
    with pytest.raises(BundleNotAllowed):
        allow_list.check_content(fab + b"\0")


def test_a_malformed_hash_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "federated_bundles.toml"
    path.write_text('[[bundle]]\nsha256 = "ABC"\n', encoding="utf-8")

    with pytest.raises(ConfigError, match="64 lower-case hex"):
        BundleAllowList.from_file(path)


def test_the_shipped_allow_list_names_the_shipped_bundle() -> None:
    shipped = Path(__file__).parents[3] / "policies" / "federated_bundles.toml"
    bundle = Path(__file__).parents[3] / "federated" / "bundle"

    BundleAllowList.from_file(shipped).check(fab_sha256(build_bundle(bundle)))


def test_the_route_table_covers_exactly_flowers_fleet_service() -> None:
    from flwr.proto import fleet_pb2

    service = fleet_pb2.DESCRIPTOR.services_by_name["Fleet"]

    assert set(FLEET_ROUTES) == {method.name for method in service.methods}
    assert all(path.startswith("/v1/fleet/") for path in FLEET_ROUTES.values())


def test_only_flower_text_headers_cross_the_relay() -> None:
    assert carried("flwr-signature") and carried("Flwr-Timestamp")
    assert not carried("content-type") and not carried("flwr-public-key-bin") and not carried("host")


def test_node_config_refuses_values_that_would_break_quoting() -> None:
    assert node_config({"store-url": "sqlite:///x.db"}) == 'store-url="sqlite:///x.db"'
    with pytest.raises(ValueError, match="quotes"):
        node_config({"store-url": 'x" other="y'})


def test_the_relay_environment_variable_sets_both_addresses(provision: ProvisionNode, tmp_path: Path) -> None:
    settings = provision("bank-1", Role.BANK, bureau_address="127.0.0.1:1")
    config = settings.data_dir.parent / "node.toml"
    config.write_text(
        config.read_text() + '\n[federation]\nrelay_address = "bureau:7443"\n', encoding="utf-8"
    )

    plain = FederationSettings.from_file(config, settings, environ={})
    overridden = FederationSettings.from_file(
        config, settings, environ={RELAY_ENV: "127.0.0.1:9"}, force_enabled=True
    )

    assert (plain.enabled, plain.relay_address) == (False, "bureau:7443")
    assert (overridden.enabled, overridden.relay_address, overridden.relay_listen) == (
        True,
        "127.0.0.1:9",
        "127.0.0.1:9",
    )
    assert plain.bundles_path == settings.policies_dir / "federated_bundles.toml"


def test_the_shipped_bundle_declares_every_run_setting_of_the_federated_apps() -> None:
    """Flower refuses run-config keys an app does not declare, and RunSettings refuses unknown ones."""
    import tomllib

    from federated.settings import RunSettings

    bundle = Path(__file__).parents[3] / "federated" / "bundle" / "pyproject.toml"
    declared = tomllib.loads(bundle.read_text(encoding="utf-8"))["tool"]["flwr"]["app"]["config"]

    assert set(declared) == {name.replace("_", "-") for name in RunSettings.__dataclass_fields__}
    RunSettings.from_run_config(declared)
