"""Starts the os-ken controller in this process and stops it cleanly on SIGTERM or Ctrl-C.

os-ken >= 4 ships no `osken-manager`, and `AppManager.run_apps` cannot shut down on the native
hub (its threads have no kill()). So sovnet loads and instantiates its app itself, waits for a
signal, closes the app (stopping the store watcher), and then leaves the process with os._exit:
the listening server thread os-ken spawned cannot be stopped any other way.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading

APP = "sovnet.controller.app"


def run(store_path: str, host: str = "127.0.0.1", port: int = 6653,
        reconcile_interval: float = 30.0, log_file: str | None = None,
        verbose: bool = False) -> int:
    os.environ.setdefault("OSKEN_HUB_TYPE", "native")
    _setup_logging(log_file, verbose)
    from os_ken import cfg
    from os_ken.base.app_manager import AppManager
    from os_ken.controller import controller  # noqa: F401  (registers the ofp-* options)

    from sovnet.controller import app

    app.SETTINGS = app.Settings(store_path=store_path, reconcile_interval=reconcile_interval)
    cfg.CONF(args=["--ofp-listen-host", host, "--ofp-tcp-listen-port", str(port)],
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
