"""Tokenising identifiers through the bureau's blind OPRF (RFC 9497, mode OPRF).

The node blinds each normalised identifier, the bureau evaluates the blinded
elements (it never sees an identifier), and the node unblinds and finalises.
Batches stream in chunks well under the 1 MiB message limit.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import grpc

from gateway._proto.credgate.v1 import bureau_pb2_grpc, tokens_pb2
from gateway.errors import UnavailableError
from gateway.rpc.convert.subject_check import new_header
from gateway.rpc.convert.tokens import TOKEN_TYPES
from gateway.rpc.status import error_from_rpc
from gateway.tokens.oprf.client import blind, finalize
from gateway.tokens.subject import TokenType, token_input

ELEMENTS_PER_CHUNK = 8192  # 8192 × 34 bytes on the wire, far below 1 MiB


class RemoteTokeniser:
    """Computes subject tokens with the bureau's help, on the node holding the identifiers."""

    def __init__(self, channel: grpc.Channel, *, timeout: float = 60.0) -> None:
        self._stub = bureau_pb2_grpc.BureauServiceStub(channel)
        self._timeout = timeout
        self.newest_epoch = 0
        """The newest key epoch the bureau held at the last call (newer than the serving one in grace)."""

    def tokenise(
        self, token_type: TokenType, values: Sequence[str], *, epoch: int = 0
    ) -> tuple[int, list[bytes]]:
        """Tokens of ``values`` (in order) and the key epoch they were computed under.

        ``epoch`` names a key epoch (a newer one during a rotation's grace period); 0 asks
        for the epoch serving checks now.

        Raises
        ------
        InvalidInputError
            When a value is not a valid identifier (names its index); nothing is sent.
        UnavailableError
            When the bureau cannot be reached or answers inconsistently.

        """
        inputs = [
            token_input(token_type, value, field=f"values[{index}]") for index, value in enumerate(values)
        ]
        if not inputs:
            return 0, []
        batch = blind(inputs)
        try:
            responses = list(
                self._stub.EvaluateBlinded(
                    self._requests(token_type, batch.blinded_elements, epoch), timeout=self._timeout
                )
            )
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, peer="bureau (OPRF)") from exc
        epochs = {response.key_epoch for response in responses}
        evaluated = [element for response in responses for element in response.evaluated_elements]
        if len(epochs) != 1 or len(evaluated) != len(inputs):
            raise UnavailableError(
                f"the bureau answered {len(evaluated)} of {len(inputs)} elements "
                f"under {len(epochs)} key epochs"
            )
        self.newest_epoch = max(response.newest_key_epoch for response in responses)
        return epochs.pop(), finalize(inputs, batch.blinds, evaluated)

    def _requests(
        self, token_type: TokenType, elements: Sequence[bytes], epoch: int
    ) -> Iterator[tokens_pb2.EvaluateBlindedRequest]:
        header = new_header()
        chunks = range(0, len(elements), ELEMENTS_PER_CHUNK)
        for index, start in enumerate(chunks):
            yield tokens_pb2.EvaluateBlindedRequest(
                header=header,
                token_type=TOKEN_TYPES[token_type],
                chunk_index=index,
                last_chunk=start + ELEMENTS_PER_CHUNK >= len(elements),
                blinded_elements=list(elements[start : start + ELEMENTS_PER_CHUNK]),
                key_epoch=epoch,
            )
