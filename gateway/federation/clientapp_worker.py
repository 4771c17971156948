"""A long-lived ClientApp process: it runs one run's messages one after another, warm.

Flower 1.41 starts a fresh ``flwr-clientapp`` process for every message a SuperNode
receives (``--isolation subprocess``): a new interpreter importing flwr, numpy, the
app and the member's store stack, then reading the member's rows, for each of the four
SecAgg+ stages of every aggregation. With ``--isolation process`` the SuperNode only
queues tasks, and whoever holds its runtime API runs them. credgate's executor
(:mod:`gateway.federation.clientapp_executor`) hands every task of one run to one of
these workers, so the imports, the loaded app and the member's data caches are paid
once per run instead of once per message.

Per task the worker does what ``flwr-clientapp`` does (``flwr/supernode/runtime/
run_clientapp.py``, whose functions it calls): pull the task input with the task's
token, install the bundle (once per bundle hash), load its ClientApp, call it, push the
reply and the updated context (SecAgg+ keeps its per-member state there between
stages), and report the task finished or failed. An exception in the app becomes the
same error reply Flower sends; the worker itself carries on with the next task.

Protocol with the executor, one line each: the worker prints ``ready`` once its imports
are done, then reads ``<token> <seconds the task waited>`` lines from stdin and prints
``done`` (or ``failed``) after each; end of input ends the worker. Tokens travel over the
pipe, never in argv. Timings go to the log as ``credgate-task`` lines
(``bench/deployment_round.py`` reads them).
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flwr.app import Context, Message
    from flwr.clientapp import ClientApp
    from flwr.supercore.fab import Fab
    from flwr.supercore.run import Run
    from flwr.supercore.runtime import RuntimeHttpClient

__all__ = ["TaskRunner", "main", "prewarm", "pull_task_input"]

_LOG = logging.getLogger("credgate.clientapp_worker")
READY, DONE, FAILED = "ready", "done", "failed"
HEARTBEAT_AFTER_SECONDS = 10.0
#: Modules a worker imports before it reports ready, so none of that lies on a task's path.
PREWARM = (
    "flwr.supernode.runtime.run_clientapp",
    "flwr.clientapp",
    "federated.apps.client",
    "federated.member",
    "gateway.store.database",
)


def prewarm(modules: tuple[str, ...] = PREWARM) -> None:
    """Import ``modules`` (those that fail to import are left for the app to report)."""
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            _LOG.warning("could not pre-import %s; the app will import what it needs", name)


class TaskRunner:
    """Runs tasks against one SuperNode runtime API, keeping each bundle's ClientApp loaded."""

    def __init__(self, runtime_api_address: str) -> None:
        self.address = runtime_api_address
        self._apps: dict[str, ClientApp] = {}

    def run(self, token: str, *, waited: float = 0.0) -> bool:
        """Run the task ``token`` names to its end; return whether the app completed it.

        ``waited`` (seconds from the SuperNode queueing the task to the executor taking it)
        is only logged.

        Never raises for the app's own failure: that becomes an error reply, as in Flower.
        """
        from flwr.app import Error, Message
        from flwr.common.constant import ErrorCode, SubStatus
        from flwr.supercore.heartbeat import HeartbeatSender, make_task_heartbeat_fn_http
        from flwr.supernode.runtime.run_clientapp import push_message, push_task_output

        client = self._client(token)
        heartbeat = HeartbeatSender(make_task_heartbeat_fn_http(client))
        # A claimed task stays alive 30 s and an activated one 60 s without a heartbeat
        # (flwr.supercore.corestate), and most tasks end in well under a second: heartbeats
        # start only for a task still running after HEARTBEAT_AFTER_SECONDS, one loopback
        # call saved per message.
        timer = threading.Timer(HEARTBEAT_AFTER_SECONDS, heartbeat.start)
        timer.daemon = True
        message: Message | None = None
        reply: Message | None = None
        context = None
        status, details = SubStatus.FAILED, "ClientApp task failed due to unknown reason"
        marks = {"start": time.perf_counter()}
        try:
            timer.start()
            message, context, run, fab = pull_task_input(client)
            marks["loaded"] = time.perf_counter()
            app = self._app(run.fab_id, run.fab_version, fab.hash_str, fab.content)
            reply = app(message=message, context=context)
            status, details = SubStatus.COMPLETED, ""
        except Exception as exc:  # The app's failure is reported to the SuperNode, never raised here.
            from flwr.clientapp.client_app import LoadClientAppError

            code, reason = ErrorCode.CLIENT_APP_RAISED_EXCEPTION, f"{type(exc)}:<'{exc}'>"
            if isinstance(exc, LoadClientAppError):
                code = ErrorCode.LOAD_CLIENT_APP_EXCEPTION
                reason = "An exception was raised when attempting to load `ClientApp`"
            _LOG.error("the ClientApp raised an exception", exc_info=exc)
            details = reason
            if message is not None:
                reply = Message(Error(code=code, reason=reason), reply_to=message)
        finally:
            marks["app"] = time.perf_counter()
            try:
                if reply is not None and context is not None:
                    push_message(client, reply, context)
            except Exception as exc:
                _LOG.error("pushing the reply failed", exc_info=exc)
                status = SubStatus.FAILED
            timer.cancel()
            timer.join()
            if heartbeat.is_running:
                heartbeat.stop()
            push_task_output(client=client, context=context, sub_status=status, details=details)
            client.close()
            marks["pushed"] = time.perf_counter()
            _log_timing(marks, waited, completed=status == SubStatus.COMPLETED)
        return status == SubStatus.COMPLETED

    def _client(self, token: str) -> RuntimeHttpClient:
        from flwr.supercore.interceptors import RuntimeTokenHttpInterceptor, RuntimeVersionHttpInterceptor
        from flwr.supercore.retry import make_simple_http_retry_invoker
        from flwr.supercore.runtime import RuntimeHttpClient

        return RuntimeHttpClient.from_server_address(
            server_address=self.address,
            insecure=True,
            root_certificates=None,
            interceptors=[
                RuntimeVersionHttpInterceptor(component_name="flwr-clientapp"),
                RuntimeTokenHttpInterceptor(token),
            ],
            retry_invoker=make_simple_http_retry_invoker(),
        )

    def _app(self, fab_id: str, fab_version: str, fab_hash: str, content: bytes) -> ClientApp:
        app = self._apps.get(fab_hash)
        if app is None:
            from flwr.cli.install import install_from_fab
            from flwr.clientapp.utils import get_load_client_app_fn

            install_from_fab(content, skip_prompt=True)
            load = get_load_client_app_fn(default_app_ref="", app_path=None, multi_app=True)
            app = self._apps[fab_hash] = load(fab_id, fab_version, fab_hash)
        return app


def pull_task_input(client: RuntimeHttpClient) -> tuple[Message, Context, Run, Fab]:
    """Flower's ``run_clientapp.pull_task_input`` with short retries for the message's objects.

    The executor takes a task as soon as the SuperNode queues it, which is before the
    SuperNode has finished storing the message's objects; Flower's own function would then
    wait 1 s before asking again (see :mod:`gateway._internal.flower_pulls`).
    """
    from flwr.app import Message
    from flwr.common.serde import context_from_proto, fab_from_proto, run_from_proto
    from flwr.proto.node_pb2 import Node
    from flwr.proto.runtime_pb2 import PullAppMessagesRequest, PullTaskInputRequest
    from flwr.supercore.inflatable.inflatable_protobuf_utils import (
        make_confirm_message_received_fn_protobuf,
        make_pull_object_fn_protobuf,
    )
    from flwr.supercore.inflatable.inflatable_utils import pull_and_inflate_object_from_tree
    from flwr.supercore.task_identity import TaskIdentity

    from gateway._internal.flower_pulls import BACKOFF_CAP, INITIAL_BACKOFF

    task = client.PullTaskInput(PullTaskInputRequest())
    TaskIdentity.task_id, TaskIdentity.run_id, TaskIdentity.node_id = (
        task.task_id, task.run.run_id, task.context.node_id,
    )  # fmt: skip
    context, run, fab = context_from_proto(task.context), run_from_proto(task.run), fab_from_proto(task.fab)
    pulled = client.PullMessages(PullAppMessagesRequest())
    if not pulled.messages_list:
        raise RuntimeError("No messages received from Runtime API")
    node = Node(node_id=context.node_id)
    tree = pulled.message_object_trees[0]
    message = pull_and_inflate_object_from_tree(
        tree,
        make_pull_object_fn_protobuf(client.PullObject, node, context.run_id),
        make_confirm_message_received_fn_protobuf(client.ConfirmMessageReceived, node, context.run_id),
        return_type=Message,
        initial_backoff=INITIAL_BACKOFF,
        backoff_cap=BACKOFF_CAP,
    )
    # The deflated message does not carry its own id (its object id); Flower sets it the same way.
    message.metadata.__dict__["_message_id"] = tree.object_id
    return message, context, run, fab


def _log_timing(marks: dict[str, float], waited: float, *, completed: bool) -> None:
    start = marks["start"]
    loaded = marks.get("loaded", start)
    _LOG.info(
        "credgate-task wait=%.4f load=%.4f app=%.4f push=%.4f total=%.4f completed=%d",
        waited,
        loaded - start,
        marks["app"] - loaded,
        marks["pushed"] - marks["app"],
        marks["pushed"] - start,
        int(completed),
    )


def serve(runner: TaskRunner, lines: Callable[[], str], say: Callable[[str], None]) -> None:
    """Answer ``ready``, then run every token read until end of input."""
    say(READY)
    while True:
        line = lines()
        if not line:
            return
        token, _, waited = line.strip().partition(" ")
        if not token:
            continue
        try:
            completed = runner.run(token, waited=float(waited or 0.0))
        except KeyboardInterrupt:
            # Flower's heartbeat raises SIGINT when the SuperNode says the task is gone.
            _LOG.warning("the SuperNode withdrew the task; waiting for the next one")
            completed = False
        say(DONE if completed else FAILED)


def main() -> int:
    """Entry point: ``python -m gateway.federation.clientapp_worker --runtime-api-address HOST:PORT``."""
    parser = argparse.ArgumentParser(description="credgate's long-lived ClientApp worker")
    parser.add_argument("--runtime-api-address", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(process)d %(levelname)s %(message)s")
    logging.getLogger("flwr").propagate = False  # Flower's logger has a handler of its own
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per loopback call otherwise
    prewarm()

    def say(word: str) -> None:
        sys.stdout.write(word + "\n")
        sys.stdout.flush()

    serve(TaskRunner(args.runtime_api_address), sys.stdin.readline, say)
    return 0


if __name__ == "__main__":
    sys.exit(main())
