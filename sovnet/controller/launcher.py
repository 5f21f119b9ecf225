"""Starts the os-ken controller in this process and stops it cleanly on SIGTERM or Ctrl-C.

os-ken >= 4 ships no `osken-manager`, and `AppManager.run_apps` cannot shut down on the native
hub (its threads have no kill()). So sovnet loads and instantiates its app itself, waits for a
signal, closes the app (stopping the store watcher), and then leaves the process with os._exit:
the listening server thread os-ken spawned cannot be stopped any other way.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from sovnet.compile.shards import parse_shard

APP = "sovnet.controller.app"


def run(store_path: str, host: str = "127.0.0.1", port: int = 6653,
        reconcile_interval: float = 30.0, log_file: str | None = None,
        verbose: bool = False, use_bundles: bool = True, shard: str = "",
        bgp_dir: str = "") -> int:
    os.environ.setdefault("OSKEN_HUB_TYPE", "native")
    _setup_logging(log_file, verbose)
    from os_ken import cfg
    from os_ken.base.app_manager import AppManager
    from os_ken.controller import controller  # noqa: F401  (registers the ofp-* options)

    from sovnet.controller import app  # noqa: F401  (registers the [sovnet] options)

    cfg.CONF(args=conf_args(store_path, host, port, reconcile_interval, use_bundles, shard,
                            bgp_dir),
             project="os_ken")
    stop = threading.Event()

    def _signal(signum, _frame):
        logging.getLogger("sovnet.controller").info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _signal)
    signal.signal(signal.SIGINT, _signal)
    mgr = AppManager.get_instance()
    mgr.load_apps([APP])
    mgr.instantiate_apps(**mgr.create_contexts())
    logging.getLogger("sovnet.controller").info(
        "listening on %s:%d, store %s", host, port, store_path)
    while not stop.wait(0.5):
        pass
    mgr.close()
    logging.getLogger("sovnet.controller").info("stopped")
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def conf_args(store_path: str, host: str, port: int, reconcile_interval: float,
              use_bundles: bool = True, shard: str = "", bgp_dir: str = "") -> list[str]:
    """The os-ken command line that starts the app with these settings."""
    return ["--ofp-listen-host", host, "--ofp-tcp-listen-port", str(port),
            "--sovnet-store", store_path,
            "--sovnet-reconcile-interval", repr(float(reconcile_interval)),
            "--sovnet-bundles" if use_bundles else "--sovnet-nobundles",
            *(["--sovnet-shard", shard] if shard else []),
            *(["--sovnet-bgp-dir", bgp_dir] if bgp_dir else [])]


DESCRIPTION = ("Run sovnet's OpenFlow 1.3 controller (os-ken) in this process: it enforces the "
               "policy store's current revision on every switch that connects.")


def parser(prog: str | None = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The controller's options, for this file's parser and `sovnet controller` alike."""
    p.add_argument("--store", required=True, help="the policy store (SQLite file)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=6653, help="OpenFlow TCP port (6653)")
    p.add_argument("--reconcile-interval", type=float, default=30.0, metavar="SECONDS",
                   help="full audit of every switch this often; 0 turns audits off (30)")
    p.add_argument("--no-bundles", action="store_true",
                   help="send flow-mods bare instead of in one atomic bundle per switch")
    p.add_argument("--shard", default="", metavar="I/N",
                   help="run as process I of N (counted from 0), enforcing only the switches "
                        "that process owns: each ISP's together, spread evenly")
    p.add_argument("--bgp-dir", default="", metavar="DIR",
                   help="the BGP daemons' API sockets (bgp/ in the network's workdir): the "
                        "controller announces and withdraws the ISPs' prefixes there, and makes "
                        "the internet switches forward as the transit routers route")
    p.add_argument("--log-file", help="log here instead of to stderr")
    p.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG")


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    return run_parsed(parser(prog).parse_args(argv))


def run_parsed(args: argparse.Namespace) -> int:
    if args.shard:
        parse_shard(args.shard)  # a bad one is refused here, with its message, not by os-ken
    return run(args.store, args.host, args.port, args.reconcile_interval, args.log_file,
               args.verbose, use_bundles=not args.no_bundles, shard=args.shard,
               bgp_dir=args.bgp_dir)


def _setup_logging(log_file: str | None, verbose: bool) -> None:
    handler: logging.Handler = (
        logging.FileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # os-ken logs every connection attempt at INFO; keep ours readable.
    logging.getLogger("os_ken").setLevel(logging.WARNING)
