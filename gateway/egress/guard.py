"""The egress guard: nothing leaves a node until it is proven free of PII (fail closed).

Every outbound protobuf message is walked field by field:

1. *Schema allow-list* — the field must be declared in ``policies/egress.toml`` and its
   value must fit the declared kind (an OPRF token is 64 bytes, a member id a DNS label…).
2. *Free text* — fields of kind ``free_text`` are redacted with the Presidio detectors.
3. *Exact-match index* — every plaintext value (after redaction) is scanned for this
   node's own PII in its normalised forms.

The first failure blocks the whole message with :class:`EgressBlocked`, which names the
message type, the field and the detector — never the value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from gateway.egress.index import ExactMatchIndex
from gateway.egress.schema import CHECKS, EgressSchema
from gateway.errors import GatewayError

Redact = Callable[[str], str]


class EgressBlocked(GatewayError):
    """The egress guard refused to let a message leave the node."""

    reason = "egress_blocked"

    def __init__(self, *, message_type: str, field: str, detector: str) -> None:
        super().__init__(f"egress guard blocked {message_type}.{field}: {detector}")
        self.message_type = message_type
        self.field = field
        self.detector = detector


@dataclass(frozen=True)
class EgressGuard:
    """Checks (and, for free text, redacts) every outbound message.

    Parameters
    ----------
    schema
        The allow-list.
    index
        This node's exact-match index of its own PII.
    redact
        Redacts free text (``Redactor.redact(text).text``); free-text fields are refused
        when no redactor is configured.

    """

    schema: EgressSchema
    index: ExactMatchIndex
    redact: Redact | None = None

    def check(self, message: Message) -> None:
        """Clear ``message`` for sending, redacting its free text in place.

        Raises
        ------
        EgressBlocked
            Naming the message type, field and detector of the first violation.

        """
        self._walk(message)

    def _walk(self, message: Message) -> None:
        name = message.DESCRIPTOR.full_name
        for field, value in message.ListFields():
            kind = self.schema.kind(name, field.name)
            if kind is None:
                raise EgressBlocked(message_type=name, field=field.name, detector="undeclared field")
            values = list(value) if field.is_repeated else [value]
            if kind in {"message", "timestamp"}:
                for item in values:
                    if kind == "message":
                        self._walk(item)
                continue
            if kind == "enum":
                defined = field.enum_type.values_by_number if field.enum_type is not None else {}
                if any(item not in defined for item in values):
                    raise EgressBlocked(message_type=name, field=field.name, detector="undefined enum value")
                continue
            self._check_values(message, name, field, kind, values)

    def _check_values(
        self, message: Message, name: str, field: FieldDescriptor, kind: str, values: list[object]
    ) -> None:
        valid, plaintext = CHECKS[kind]
        if kind == "free_text":
            if self.redact is None:
                raise EgressBlocked(
                    message_type=name, field=field.name, detector="free text without a redactor"
                )
            values = [self.redact(str(item)) for item in values]
            _replace(message, field, values)
        for item in values:
            if not valid(item):
                raise EgressBlocked(
                    message_type=name, field=field.name, detector=f"value is not a valid {kind}"
                )
            if plaintext and self.index.hits(str(item)):
                raise EgressBlocked(message_type=name, field=field.name, detector="exact-match index")


def _replace(message: Message, field: FieldDescriptor, values: list[object]) -> None:
    if field.is_repeated:
        container = getattr(message, field.name)
        del container[:]
        container.extend(values)
    else:
        setattr(message, field.name, values[0])
