"""Mininet's CLI, extended with sovnet's policy commands (see sovnet.commands).

Every Mininet command still works (pingall, iperf, h1 ping h2, xterm, ...). Policy commands write
the store; the CLI then waits for the switches to acknowledge and says how long that took.
"""

from __future__ import annotations

import logging
import textwrap

from mininet.cli import CLI

from sovnet import commands
from sovnet.errors import SovnetError
from sovnet.lab import LabError
from sovnet.model.policy import (
    ACTION_FORMS,
    DIRECTION_ACTIONS,
    DIRECTIONS,
    DPI_ACTIONS,
    DPI_OPTIONS,
    FAMILIES,
    TIERS,
)

log = logging.getLogger("sovnet.cli")

def _wrapped(label: str, text: str) -> str:
    return textwrap.fill(text, 96, initial_indent=f"      {label}: ",
                         subsequent_indent=" " * (8 + len(label)))


# Built from the model's own lists, so that it names every action, target and scope there is.
HELP = "\n".join([
    "sovnet commands (they write the policy store; the controller enforces every change):",
    "  policy list [--at REV] [--json]",
    "  policy add ACTION TARGET [--scope SCOPE] [--priority N] [--daily HH:MM-HH:MM]",
    "             [--from T] [--until T] [--why TEXT]",
    _wrapped("ACTION", f"{ACTION_FORMS}; {', '.join(DIRECTION_ACTIONS)} also as "
                       f"ACTION:{'|'.join(DIRECTIONS)} (at the border gateways); "
                       f"{', '.join(DPI_ACTIONS)} on an inspector target take options: "
                       f"{DPI_OPTIONS}"),
    _wrapped("TARGET", "international | any | service:NAME | category:CODE | "
                       "locus:domestic|foreign | prefix:CIDR | port:tcp/443 | sni:NAME | "
                       "sni-contains:TEXT | host:NAME | quic | quic:NAME; "
                       f"TARGET@{'|'.join(FAMILIES)} for one address family"),
    _wrapped("SCOPE", "all | isp:NAME | class:NAME | subscriber:NAME | region:NAME | "
                      f"tier:{'|'.join(TIERS)} | standing:<N"),
    "  policy revoke ID... [--why TEXT]     policy load FILE",
    "  subscriber list [--json] | subscriber register|verify|privilege|revoke NAME",
    "  subscriber standing NAME 0-100",
    "  device register SUBSCRIBER MAC | device revoke MAC",
    "  history [-n N] [--json]    enforcement [REV] [--json]",
    "  explain SRC DST [--proto tcp|udp|icmp] [--port N] [--sni NAME] [--at REV] [--json]",
    "  flowlog [--subscriber S] [--service X] [--since SECONDS_AGO] [--limit N] [--json]",
    "  retention [SECONDS]   how long flow records are kept (30m, 12h, 90d also work)",
    "",
])


class SovnetCLI(CLI):
    prompt = "sovnet> "

    def __init__(self, lab, **kwargs):
        self.lab = lab
        super().__init__(lab.network.net, **kwargs)

    def _run(self, name: str, line: str) -> None:
        try:
            text, revision = commands.run(self.lab.store, f"{name} {line}")
        except SovnetError as e:
            print(f"*** {e}")
            return
        except Exception as e:  # noqa: BLE001 (a bug in one command must not end the session)
            log.exception("%s %s", name, line)
            print(f"*** internal error in '{name} {line}': {e!r}")
            return
        print(text)
        if revision is not None:
            try:
                self.lab.wait_enforced(revision, timeout=10)
                print(commands.enforcement_text(self.lab.store, revision).splitlines()[-1]
                      .replace("  last switch", f"enforced revision {revision}; last switch"))
            except LabError as e:
                print(f"*** {e}")

    def do_policy(self, line):
        """Policies: list, add, revoke, load. Type 'sovnet' for the syntax."""
        self._run("policy", line)

    def do_subscriber(self, line):
        """Subscribers: list, register, verify, revoke NAME."""
        self._run("subscriber", line)

    def do_device(self, line):
        """Devices: register SUBSCRIBER MAC, revoke MAC."""
        self._run("device", line)

    def do_history(self, line):
        """Store revisions: who changed what, when and why."""
        self._run("history", line)

    def do_enforcement(self, line):
        """When each switch enforced a revision (default: the latest)."""
        self._run("enforcement", line)

    def do_explain(self, line):
        """explain SRC DST: which policy, table and flow decide traffic from SRC to DST."""
        self._run("explain", line)

    def do_flowlog(self, line):
        """Flow records: who reached which service, when, how many bytes."""
        self._run("flowlog", line)

    def do_retention(self, line):
        """retention [SECONDS]: show or set how long flow records are kept."""
        self._run("retention", line)

    def do_sovnet(self, _line):
        """The syntax of sovnet's policy commands."""
        print(HELP)
