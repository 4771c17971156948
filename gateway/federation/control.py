"""A small client for the SuperLink's control API (protobuf over HTTPS on loopback).

Only the bureau's own processes reach this API: the SuperLink listens on
127.0.0.1 and the relay never forwards a control path. Used to register a
member's SuperNode key, start a run, read a run's status and stop it.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
from google.protobuf.message import DecodeError, Message

from gateway.federation.errors import FederationError

PROTOBUF_MEDIA_TYPE = "application/protobuf"
ResponseT = TypeVar("ResponseT", bound=Message)
CONTROL_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class RunState:
    """A run's ``status`` (pending/starting/running/finished) and ``sub_status`` (completed/failed/…)."""

    run_id: int
    status: str
    sub_status: str
    details: str
    fab_hash: str

    @property
    def finished(self) -> bool:
        """Whether the run has ended, however it ended."""
        return self.status == "finished"

    @property
    def succeeded(self) -> bool:
        """Whether the run ended and completed."""
        return self.finished and self.sub_status == "completed"


class ControlClient:
    """Talks to the SuperLink at ``https://127.0.0.1:<port>``, trusting the consortium CA."""

    def __init__(self, port: int, *, ca_cert: Path, host: str = "127.0.0.1") -> None:
        self._base = f"https://{host}:{port}"
        self._http = httpx.Client(
            verify=ssl.create_default_context(cafile=str(ca_cert)), timeout=CONTROL_TIMEOUT_SECONDS
        )

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def healthy(self) -> bool:
        """Whether the SuperLink answers its health route."""
        try:
            return self._http.get(f"{self._base}/health", timeout=2.0).status_code == httpx.codes.OK
        except httpx.HTTPError:
            return False

    def register_node(self, public_key: bytes, *, name: str) -> int:
        """Register a SuperNode's public key (PEM SubjectPublicKeyInfo); return its node id."""
        from flwr.proto.control_pb2 import RegisterNodeRequest, RegisterNodeResponse

        request = RegisterNodeRequest(public_key=public_key, name=name)
        return self._call("/v1/control/register-node", request, RegisterNodeResponse).node_id

    def start_run(self, fab: bytes, fab_hash: str, *, config: dict[str, str | int | float | bool]) -> int:
        """Submit ``fab`` and start a run with ``config`` overriding the app's run config."""
        from flwr.common.serde import user_config_to_proto
        from flwr.proto.control_pb2 import StartRunRequest, StartRunResponse
        from flwr.proto.fab_pb2 import Fab

        request = StartRunRequest(
            fab=Fab(hash_str=fab_hash, content=fab),
            override_config=user_config_to_proto(dict(config)),
            federation="",
        )
        response = self._call("/v1/control/start-run", request, StartRunResponse)
        if not response.HasField("run_id"):
            raise FederationError(f"the SuperLink did not start the run: {response.note}")
        return int(response.run_id)

    def run_state(self, run_id: int) -> RunState:
        """The run's status as the SuperLink records it."""
        from flwr.proto.control_pb2 import ListRunsRequest, ListRunsResponse

        response = self._call("/v1/control/list-runs", ListRunsRequest(run_id=run_id), ListRunsResponse)
        if run_id not in response.run_dict:
            raise FederationError(f"the SuperLink does not know run {run_id}")
        run = response.run_dict[run_id]
        return RunState(run_id, run.status.status, run.status.sub_status, run.status.details, run.fab_hash)

    def stop_run(self, run_id: int) -> None:
        """Ask the SuperLink to stop a run."""
        from flwr.proto.control_pb2 import StopRunRequest, StopRunResponse

        self._call("/v1/control/stop-run", StopRunRequest(run_id=run_id), StopRunResponse)

    def _call(self, path: str, request: Message, response_type: type[ResponseT]) -> ResponseT:
        try:
            reply = self._http.post(
                f"{self._base}{path}",
                content=request.SerializeToString(deterministic=True),
                headers={"content-type": PROTOBUF_MEDIA_TYPE, "accept": PROTOBUF_MEDIA_TYPE},
            )
        except httpx.HTTPError as exc:
            raise FederationError(f"cannot reach the SuperLink control API: {exc}") from exc
        if reply.status_code != httpx.codes.OK:
            raise FederationError(
                f"SuperLink {path} answered HTTP {reply.status_code}: {reply.text[:300]}",
                reason="superlink_refused",
            )
        result = response_type()
        try:
            result.ParseFromString(reply.content)
        except DecodeError as exc:
            raise FederationError(f"SuperLink {path} returned an unreadable reply") from exc
        return result
