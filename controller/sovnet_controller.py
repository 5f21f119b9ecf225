"""sovnet's OpenFlow controller: run this file, or load it as an os-ken app.

    sudo .venv/bin/python controller/sovnet_controller.py --store STORE.db [--host H] [--port P]

starts os-ken with the sovnet app and enforces the policy store on every switch that connects
(the same as `sovnet controller`; see controller/README.md). An os-ken program can load this
file instead, `AppManager.run_apps(["controller/sovnet_controller.py"])`, with the settings in
the [sovnet] group of os-ken's configuration. The controller itself is sovnet.controller.
"""

from sovnet.controller import app


class SovnetController(app.SovnetController):
    """The app os-ken finds when it loads this file (it takes the classes defined here)."""


if __name__ == "__main__":
    import sys

    from sovnet.controller.launcher import main

    sys.exit(main(prog="sovnet_controller.py"))
