"""Out-of-range timestamps are bad input (INVALID_ARGUMENT naming the field), not INTERNAL (#17 item 7)."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from gateway._proto.credgate.v1 import bureau_pb2, bureau_pb2_grpc
from gateway.node.runtime import RunningNode
from gateway.rpc.channel import open_channel


@pytest.mark.parametrize(
    "stamp", [Timestamp(seconds=2**62), Timestamp(seconds=-(2**62)), Timestamp(seconds=0, nanos=2**30)]
)
def test_a_key_bundle_stamped_out_of_range_is_invalid_argument(
    bureau: RunningNode, start_members: Callable[..., RunningNode], stamp: Timestamp
) -> None:
    bank = start_members("bank-1")
    channel = open_channel(bank.identity, bureau.address, peer_member_id="bureau", egress=None)
    request = bureau_pb2.RegisterRequest(
        advertised_address=bank.address,
        software_version="1",
        protocol_version="credgate.v1",
        keys=bureau_pb2.NodeKeys(created_at=stamp, hpke_public_key=b"k" * 32, mask_public_key=b"m" * 32),
    )

    with pytest.raises(grpc.RpcError) as refused:
        bureau_pb2_grpc.BureauServiceStub(channel).Register(request, timeout=10)
    channel.close()

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "keys.created_at" in (refused.value.details() or "")
