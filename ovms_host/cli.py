"""Command line and process lifecycle: OVMS's flags, servers first, load in background,
config polling, graceful shutdown on SIGTERM/SIGINT (grace for in-flight streams, then
finalize, exit 0).

Flags are OVMS 2026.4's (src/cli_parser.cpp; docs/ovms_host_parity.md lists each and what
the host does with it); like OVMS, an unknown flag is refused with exit code 64 (EX_USAGE).
Honoured: the server flags (ports, bind addresses, log level, config polling, gRPC threads)
and `--disable_input_count_validation` (2026.4.0: a unary request need not carry every graph
input). Accepted with a warning: OVMS flags without meaning here (metrics, CORS, API key, LLM
media and verbose responses, caches). Refused by name: OVMS's single-model and pull modes
(--model_path, --source_model, ...). Boolean flags take cxxopts' forms: `--flag` or
`--flag=true|false`. `--shutdown_grace` is the host's own.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from typing import NoReturn

from .config_watch import ConfigWatcher
from .grpc_service import make_server
from .lifecycle import Lifecycle
from .metadata import SERVER_NAME, SERVER_VERSION
from .metrics import metrics_route
from .registry import Registry
from .rest import RestServer
from .servable_status import servable_status_route

log = logging.getLogger("ovms_host")

EX_USAGE = 64
# OVMS's boolean flags (cxxopts: `--flag` or `--flag=true|false`)
BOOL_FLAGS = ("metrics_enable", "allow_credentials", "verbose_response",
              "disable_input_count_validation")
_TRUE, _FALSE = ("true", "1", "yes", "on", "t"), ("false", "0", "no", "off", "f")
# accepted for OVMS compatibility, no effect here: name -> argparse options
IGNORED_FLAGS = {
    "rest_workers": {"type": int}, "metrics_enable": {"action": "store_true"},
    "metrics_list": {}, "log_path": {}, "cpu_extension": {}, "cache_dir": {},
    "grpc_channel_arguments": {}, "grpc_memory_quota": {}, "trace_path": {},
    "custom_node_resources_cleaner_interval_seconds": {"type": int},
    "allowed_origins": {}, "allowed_methods": {}, "allowed_headers": {},
    "allow_credentials": {"action": "store_true"}, "api_key_file": {},
    # OVMS's LLM graphs only (2026.x): media inputs, the "__verbose" object of /v3 answers
    "allowed_media_domains": {}, "allowed_local_media_path": {},
    "verbose_response": {"action": "store_true"},
}
UNSUPPORTED_MODES = ("model_path", "model_name", "source_model", "model_repository_path",
                     "pull", "task", "list_models", "add_to_config", "remove_from_config",
                     "configure", "batch_size", "shape", "layout", "target_device",
                     "plugin_config", "nireq", "model_version_policy",
                     # 2026.x pull and single-model options
                     "source_loras", "gguf_filename", "overwrite_models", "weight-format",
                     "extra_quantization_params", "mean", "scale", "color_format", "precision")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EX_USAGE, f"error parsing options - {message}\n")


def _bool_forms(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """cxxopts' `--flag=true|false` for OVMS's boolean flags -> `--flag` or nothing; anything
    else after the `=` is a usage error, as in OVMS."""
    out = []
    for arg in argv:
        name, eq, value = arg.partition("=")
        if eq and name.startswith("--") and name[2:] in BOOL_FLAGS:
            if value.lower() in _TRUE:
                out.append(name)
            elif value.lower() not in _FALSE:
                parser.exit(EX_USAGE, f"error parsing options - Argument '{value}' failed to "
                                      f"parse for option {name[2:]}\n")
            continue
        out.append(arg)
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = _Parser(prog="python -m ovms_host",
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
    p.add_argument("--file_system_poll_wait_seconds", type=float, default=1.0,
                   help="seconds between config.json change checks; 0 disables")
    p.add_argument("--shutdown_grace", type=float,
                   default=float(os.environ.get("OVMS_HOST_SHUTDOWN_GRACE", "5")),
                   help="(ovms_host only) seconds in-flight streams get to finish after SIGTERM")
    p.add_argument("--disable_input_count_validation", action="store_true",
                   help="a unary request may leave out graph inputs: the node runs with those "
                        "sent (OVMS 2026.4.0)")
    p.add_argument("--version", action="version", version=f"{SERVER_NAME} {SERVER_VERSION}")
    for name, options in IGNORED_FLAGS.items():
        p.add_argument(f"--{name}", help=argparse.SUPPRESS, **options)
    for name in UNSUPPORTED_MODES:
        p.add_argument(f"--{name}", nargs="?", const="", help=argparse.SUPPRESS)
    args, unknown = p.parse_known_args(_bool_forms(sys.argv[1:] if argv is None else argv, p))
    if unknown:
        p.exit(EX_USAGE, "error parsing options - unmatched arguments: "
               + "".join(f"{a}, " for a in unknown) + "\n")
    used = [n for n in UNSUPPORTED_MODES if getattr(args, n.replace("-", "_")) is not None]
    if used:
        p.exit(EX_USAGE, f"error parsing options - ovms_host serves a --config_path only; "
               f"not supported: {', '.join('--' + n for n in used)}\n")
    ignored = [n for n in IGNORED_FLAGS if getattr(args, n.replace("-", "_")) not in (None, False)]
    if ignored:
        logging.getLogger("ovms_host").warning(
            "OVMS flags accepted but without effect in ovms_host: %s",
            ", ".join("--" + n for n in ignored))
    return args


def setup_logging(level: str) -> None:
    level = "DEBUG" if level == "TRACE" else level
    logging.basicConfig(level=getattr(logging, level), stream=sys.stderr,
                        format="[%(asctime)s][%(levelname)s][%(name)s] %(message)s")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(args.log_level)
    registry = Registry(args.config_path)
    lifecycle = Lifecycle()

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.set())

    try:
        input_count_validation = not args.disable_input_count_validation
        if not input_count_validation:
            log.info("--disable_input_count_validation: unary requests may leave out graph inputs")
        server = make_server(registry, lifecycle, args.port, args.grpc_max_threads,
                             host=args.grpc_bind_address,
                             input_count_validation=input_count_validation)
        server.start()
        rest = None
        if args.rest_port:
            rest = RestServer(registry, args.rest_port, host=args.rest_bind_address,
                              extra_routes=[metrics_route(), servable_status_route()],
                              input_count_validation=input_count_validation)
            rest.start()
    except (OSError, RuntimeError) as e:
        log.error("Cannot start servers: %s", e)
        return 1
    log.info("Started gRPC server on %s:%d", args.grpc_bind_address, args.port)
    if rest:
        log.info("Started REST server on %s:%d", args.rest_bind_address, args.rest_port)
    threading.Thread(target=registry.load_all, name="loader", daemon=True).start()
    watcher = ConfigWatcher(registry, args.file_system_poll_wait_seconds).start()

    while not stop.wait(0.5):
        pass
    log.info("Shutdown requested; refusing new requests, %.1f s grace for in-flight streams",
             args.shutdown_grace)
    lifecycle.begin_shutdown()
    watcher.stop()
    if rest:
        rest.stop()
    stopped = server.stop(args.shutdown_grace + 2.0)  # new RPCs are refused from now on
    lifecycle.end_streams(args.shutdown_grace)
    stopped.wait()
    lifecycle.wait_workers(2.0)
    registry.finalize_all()
    log.info("Shutdown complete")
    return 0
