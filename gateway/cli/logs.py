"""Logging set-up for entry points: stdlib loggers rendered by structlog.

Library modules log with ``logging.getLogger(__name__)``; only entry points call
:func:`configure_logging`. A line's ``event`` is its message, a short name
(``rpc``, ``node_started``, ``idle_stream_closed``); what varies goes in fields
(``extra={"member": …, "method": …}``), which JSON lines carry as keys, so that
operators filter on them instead of parsing sentences.
"""

from __future__ import annotations

import logging
import sys

import structlog


def configure_logging(*, level: str = "INFO", json_lines: bool = False) -> None:
    """Route stdlib logging through structlog: JSON lines for services, console for people."""
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        processor=renderer,
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            # Fields passed as ``extra=`` (member, method, status, latency_ms…) become keys of the line.
            structlog.stdlib.ExtraAdder(),
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Alembic and Presidio announce every context and recognizer at INFO; keep that for debugging.
    for chatty in ("alembic", "presidio-analyzer"):
        logging.getLogger(chatty).setLevel(max(root.level, logging.WARNING))
