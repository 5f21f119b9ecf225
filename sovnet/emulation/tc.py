"""Traffic control support: does this kernel have sch_netem, and refusing links that need it.

Mininet's TCLink, asked for delay or loss without netem, only logs "Specified qdisc kind is
unknown" and carries on without the delay. sovnet refuses such a topology instead.
"""

from __future__ import annotations

import functools
import shutil
import subprocess

from sovnet.errors import EmulationError
from sovnet.model.topology import Link, Topology


@functools.lru_cache(maxsize=1)
def netem_available() -> bool:
    """Try a netem qdisc on the loopback of a throw-away network namespace (once, cached)."""
    if shutil.which("unshare") is None or shutil.which("tc") is None:
        return False
    try:
        r = subprocess.run(
            [
                "unshare",
                "--net",
                "tc",
                "qdisc",
                "add",
                "dev",
                "lo",
                "root",
                "netem",
                "delay",
                "1ms",
            ],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


def netem_need(link: Link) -> str | None:
    """What on this link needs netem, as said in the refusal, or None."""
    if link.delay:
        return f"delay '{link.delay}'"
    if link.loss:
        return f"loss {link.loss:g}%"
    return None


def check_links(topology: Topology, netem: bool | None = None) -> None:
    """Raise EmulationError naming every link with delay/loss when netem is unavailable.

    netem: whether the kernel has sch_netem; None probes it (only when a link needs it).
    """
    needy = [(lk, need) for lk in topology.links if (need := netem_need(lk))]
    if not needy:
        return
    if netem is None:
        netem = netem_available()
    if netem:
        return
    raise EmulationError(
        "\n".join(
            f"link {lk.a}-{lk.b}: {need} needs the sch_netem qdisc, which this kernel lacks "
            "(remove delay/loss or use a kernel with netem)"
            for lk, need in needy
        )
    )
