"""Feature specs and local feature extraction (from a member store or the UCI CSV)."""

from federated.features.spec import FeatureSpec, load_spec, parse_spec

__all__ = ["FeatureSpec", "load_spec", "parse_spec"]
