"""Command line and process lifecycle: OVMS's flags, servers first, load in background,
graceful shutdown on SIGTERM/SIGINT (grace for in-flight streams, then finalize, exit 0)."""

import argparse
import logging
import os
import signal
import sys
import threading

from .grpc_service import make_server
from .metrics import metrics_route
from .registry import Registry
from .rest import RestServer
from .streaming import SESSIONS, SHUTDOWN_MESSAGE, SHUTTING_DOWN, WORKERS

log = logging.getLogger("ovms_host")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m ovms_host",
        description="OVMS-compatible host for MediaPipe graphs of one Python node.")
    p.add_argument("--config_path", required=True, help="OVMS config.json")
    p.add_argument("--port", type=int, default=9000, help="gRPC port (KServe v2)")
    p.add_argument("--rest_port", type=int, default=0,
                   help="REST port (KServe v2 + /v1/config); 0 disables REST")
    p.add_argument("--log_level", default="INFO",
                   choices=["TRACE", "DEBUG", "INFO", "WARNING", "ERROR"])
    p.add_argument("--grpc_workers", type=int, default=1,
                   help="accepted for OVMS compatibility (one gRPC server is used)")
    p.add_argument("--grpc_max_threads", type=int,
                   default=int(os.environ.get("OVMS_HOST_GRPC_THREADS", "256")),
                   help="gRPC thread pool size; each open stream holds one thread")
    p.add_argument("--grpc_bind_address", default="0.0.0.0")
    p.add_argument("--rest_bind_address", default="0.0.0.0")
    p.add_argument("--shutdown_grace", type=float,
                   default=float(os.environ.get("OVMS_HOST_SHUTDOWN_GRACE", "5")),
                   help="seconds in-flight streams get to finish after SIGTERM")
    args, unknown = p.parse_known_args(argv)
    if unknown:
        logging.getLogger("ovms_host").warning("Ignoring unsupported OVMS flags: %s", unknown)
    return args


def setup_logging(level: str):
    level = "DEBUG" if level == "TRACE" else level
    logging.basicConfig(level=getattr(logging, level), stream=sys.stderr,
                        format="[%(asctime)s][%(levelname)s][%(name)s] %(message)s")


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_logging(args.log_level)
    registry = Registry(args.config_path)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.set())

    try:
        server = make_server(registry, args.port, args.grpc_max_threads,
                             host=args.grpc_bind_address)
        server.start()
        rest = None
        if args.rest_port:
            rest = RestServer(registry, args.rest_port, host=args.rest_bind_address,
                              extra_routes=[metrics_route()])
            rest.start()
    except (OSError, RuntimeError) as e:
        log.error("Cannot start servers: %s", e)
        return 1
    log.info("Started gRPC server on %s:%d", args.grpc_bind_address, args.port)
    if rest:
        log.info("Started REST server on %s:%d", args.rest_bind_address, args.rest_port)
    threading.Thread(target=registry.load_all, name="loader", daemon=True).start()

    while not stop.wait(0.5):
        pass
    log.info("Shutdown requested; refusing new requests, %.1f s grace for in-flight streams",
             args.shutdown_grace)
    SHUTTING_DOWN.set()
    if rest:
        rest.stop()
    stopped = server.stop(args.shutdown_grace + 2.0)  # new RPCs are refused from now on
    if not WORKERS.wait_idle(args.shutdown_grace):
        cut = SESSIONS.end_all(SHUTDOWN_MESSAGE)
        log.warning("Grace period over: ended %d in-flight stream(s) with an error", cut)
    SESSIONS.end_all(SHUTDOWN_MESSAGE)  # idle open streams
    stopped.wait()
    if not WORKERS.wait_idle(2.0):
        log.warning("%d stream worker(s) still running after shutdown", WORKERS.count)
    registry.finalize_all()
    log.info("Shutdown complete")
    return 0
