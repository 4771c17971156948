"""Flower apps for the consortium's shared delinquency model."""
