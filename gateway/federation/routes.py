"""The fleet API, and only the fleet API: gRPC method names and Flower's HTTP paths.

Flower 1.41 serves its fleet API as protobuf over HTTP (``POST /v1/fleet/...``).
credgate carries each call between a member and the bureau as one unary gRPC
call named after the fleet RPC (``/flwr.proto.Fleet/PullMessages``) whose
message is the raw protobuf body. Both proxies translate through this table
alone, so a control (``/v1/control/...``) or runtime (``/v1/runtime/...``)
path has no name on the wire and cannot be asked for.
"""

from __future__ import annotations

FLEET_SERVICE = "flwr.proto.Fleet"

# gRPC method name -> the SuperLink's HTTP path (flwr/supernode/fleet_http_client.py).
FLEET_ROUTES: dict[str, str] = {
    "RegisterNode": "/v1/fleet/register-node",
    "ActivateNode": "/v1/fleet/activate-node",
    "DeactivateNode": "/v1/fleet/deactivate-node",
    "UnregisterNode": "/v1/fleet/unregister-node",
    "SendNodeHeartbeat": "/v1/fleet/send-node-heartbeat",
    "PullMessages": "/v1/fleet/pull-messages",
    "PushMessages": "/v1/fleet/push-messages",
    "GetRun": "/v1/fleet/get-run",
    "GetFab": "/v1/fleet/get-fab",
    "PushObject": "/v1/fleet/push-object",
    "PullObject": "/v1/fleet/pull-object",
    "ConfirmMessageReceived": "/v1/fleet/confirm-message-received",
}
METHOD_BY_PATH = {path: f"/{FLEET_SERVICE}/{name}" for name, path in FLEET_ROUTES.items()}
PATH_BY_METHOD = {method: path for path, method in METHOD_BY_PATH.items()}

# HTTP headers carried across as gRPC metadata (lower-case): Flower's version
# handshake and the SuperNode's signed identity (flwr-*). Bodies are always
# protobuf, so content-type (reserved in gRPC metadata) is set, not carried.
CARRIED_HEADER_PREFIX = "flwr-"
PROTOBUF_MEDIA_TYPE = "application/protobuf"
PROTOBUF_HEADERS = {"content-type": PROTOBUF_MEDIA_TYPE, "accept": PROTOBUF_MEDIA_TYPE}
STATUS_KEY = "x-credgate-http-status"


def carried(name: str) -> bool:
    """Whether an HTTP header (or metadata key) crosses the relay."""
    lowered = name.lower()
    return lowered.startswith(CARRIED_HEADER_PREFIX) and not lowered.endswith("-bin")
