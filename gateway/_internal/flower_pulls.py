"""Shorter retries when a Flower message's objects are not uploaded yet: a labelled hack over flwr 1.41.

Flower moves a message as a head (listed at once) and its objects (uploaded right after).
Whoever pulls a message it was just told about may ask for an object a few milliseconds
before its upload finished; ``flwr.supercore.inflatable.inflatable_utils.pull_objects``
then retries after 1 s, 2 s, 4 s… (``PULL_INITIAL_BACKOFF`` = 1, ``PULL_BACKOFF_CAP`` = 10,
not configurable). On a loopback deployment that race is the common case, and each lost
race cost a whole second of a SecAgg+ stage. :func:`shorten_object_pulls` rebinds the
``pull_objects`` a Flower module imported to one that retries after 20 ms, doubling up
to 250 ms, with Flower's other limits (total time, tries) unchanged. Used by the
SuperNode shim (:mod:`gateway._internal.fast_supernode`), the ServerApp's grid
(:mod:`federated.server.watched_grid`) and the ClientApp worker, which passes the same
values to Flower's ``pull_and_inflate_object_from_tree`` itself.
"""

from __future__ import annotations

import functools
from types import ModuleType

__all__ = ["BACKOFF_CAP", "INITIAL_BACKOFF", "shorten_object_pulls"]

INITIAL_BACKOFF = 0.02
BACKOFF_CAP = 0.25


def shorten_object_pulls(module: ModuleType) -> None:
    """Make ``module``'s ``pull_objects`` retry an unavailable object after 20 ms (doubling to 250 ms)."""
    from flwr.supercore.inflatable.inflatable_utils import pull_objects

    fast = functools.partial(pull_objects, initial_backoff=INITIAL_BACKOFF, backoff_cap=BACKOFF_CAP)
    setattr(module, "pull_objects", fast)  # noqa: B010  # the labelled hack
