"""The recognizer registry: a new entity type is one class here plus its tests.

Recognizer modules decorate their class with :func:`register`; importing
:mod:`gateway.egress.recognizers` imports them all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from presidio_analyzer import EntityRecognizer

R = TypeVar("R", bound=Callable[[], EntityRecognizer])

_REGISTERED: dict[str, Callable[[], EntityRecognizer]] = {}

# Entities found by patterns and checksums only; asking for these never loads the NER model.
STRUCTURED_ENTITIES = (
    "CN_RESIDENT_ID", "CN_MOBILE", "CN_LANDLINE", "BANK_CARD", "CN_USCC", "EMAIL", "CN_LICENSE_PLATE",
    "SUSPECT_IDENTIFIER",
)  # fmt: skip
# Entities that need the language model for recall on real text.
NER_ENTITIES = ("CN_PERSON", "CN_ADDRESS")
ALL_ENTITIES = STRUCTURED_ENTITIES + NER_ENTITIES


def register(cls: R) -> R:
    """Class decorator adding a recognizer class to the registry.

    Parameters
    ----------
    cls
        An :class:`EntityRecognizer` subclass constructible without arguments.

    Returns
    -------
    type
        ``cls`` unchanged.

    Raises
    ------
    ValueError
        When a class of the same name is already registered.

    """
    name = getattr(cls, "__name__", repr(cls))
    if name in _REGISTERED and _REGISTERED[name] is not cls:
        raise ValueError(f"recognizer {name} is registered twice")
    _REGISTERED[name] = cls
    return cls


def registered() -> tuple[Callable[[], EntityRecognizer], ...]:
    """Return every registered recognizer class, in registration order.

    Returns
    -------
    tuple[Callable[[], EntityRecognizer], ...]
        The classes; :mod:`gateway.egress.recognizers` is imported first so all are present.

    """
    import gateway.egress.recognizers  # noqa: F401  (imports register the classes)

    return tuple(_REGISTERED.values())
