"""``vrewards``: the command line.

``vrewards serve`` runs the service (this module); ``vrewards score`` and the trainer's commands (sft,
reject-sample, train, demo, plot) are registered by :mod:`trainer_client` when it is installed, without
importing torch until one of them runs.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.config import Settings
    from app.logs import configure_logging
    from app.main import create_app
    from app.protocol import guarded_protocol

    overrides = {
        key: value
        for key, value in (
            ("host", args.host),
            ("port", args.port),
            ("workers", args.workers),
            ("log_level", args.log_level),
        )
        if value is not None
    }
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        for err in exc.errors(include_url=False, include_input=False):
            field = ".".join(str(p) for p in err["loc"])
            print(f"vrewards serve: invalid setting {field}: {err['msg']}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_json)
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        log_level=settings.log_level,
        timeout_graceful_shutdown=30,
        server_header=False,
        http=guarded_protocol(_connection_limits(settings), _parser(settings.http_parser)),
    )
    server = uvicorn.Server(config)
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal; ours turns that final
    # signal into a normal exit, so a clean shutdown exits 0 (what supervisors expect).
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stopped)
    with contextlib.suppress(_Stopped):
        server.run()
    return 0 if server.started else 1


def _parser(name: str) -> type:
    if name == "h11":
        from uvicorn.protocols.http.h11_impl import H11Protocol

        return H11Protocol
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    return HttpToolsProtocol


def _connection_limits(settings: Any) -> Any:
    """The connection limits, the cap lowered (with a warning) to what the open-files limit allows."""
    import logging
    import resource

    from app.protocol import ConnectionLimits

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = settings.max_connections + _SPARE_FILES
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    cap = settings.max_connections
    if soft != resource.RLIM_INFINITY and soft < wanted:
        cap = max(8, soft - _SPARE_FILES)
        logging.getLogger(__name__).warning(
            "max_connections lowered to fit the open-files limit",
            extra={"max_connections": cap, "nofile": soft},
        )
    return ConnectionLimits(
        max_connections=cap,
        max_header_bytes=settings.max_header_bytes,
        header_timeout_s=settings.header_timeout_s,
        body_timeout_s=settings.body_timeout_s,
        retry_after_s=settings.retry_after_s,
    )


_SPARE_FILES = 256  # descriptors kept for workers, pipes, logs and the listening socket


class _Stopped(Exception):
    """Raised by the signal uvicorn re-raises after its graceful shutdown."""


def _stopped(signum: int, frame: object) -> None:
    raise _Stopped


def build_parser() -> argparse.ArgumentParser:
    """The ``vrewards`` argument parser with every available subcommand.

    Example:
        >>> build_parser().parse_args(["serve", "--port", "9000"]).port
        9000
    """
    parser = argparse.ArgumentParser(
        prog="vrewards", description="DeepSeek-R1 rule-based rewards as a service, a client and a trainer."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = subparsers.add_parser(
        "serve",
        help="run the reward service",
        description="Run the reward service. Flags override the VREWARDS_* environment variables.",
    )
    serve.add_argument("--host", help="interface to bind (VREWARDS_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="TCP port (VREWARDS_PORT, default 8000)")
    serve.add_argument(
        "--workers", type=int, help="scoring worker processes (VREWARDS_WORKERS, default: CPUs)"
    )
    serve.add_argument(
        "--log-level",
        choices=["critical", "error", "warning", "info", "debug"],
        help="log level (VREWARDS_LOG_LEVEL, default info)",
    )
    serve.set_defaults(func=_serve)
    for module in ("trainer_client.score_file", "trainer_client.cli"):
        with contextlib.suppress(ImportError):  # that part of the project is not installed
            importlib.import_module(module).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vrewards`` console script; returns the exit code.

    Example:
        >>> main(["--help"])  # doctest: +SKIP
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    result = args.func(args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
