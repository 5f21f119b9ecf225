"""Data-plane checks from inside Mininet hosts, run in parallel so a blocked target costs one
timeout, not one per target. Tests wait for an expected state with sovnet.poll, never a sleep."""

from __future__ import annotations


def pings(host, ips, timeout_s: int = 1) -> dict[str, bool]:
    """{ip: replied} for one ping to each address, all at once."""
    script = " ".join(
        f"(ping -n -c1 -W{timeout_s} {ip} >/dev/null 2>&1 && echo '{ip} ok' || echo '{ip} fail') &"
        for ip in ips
    )
    out = host.cmd(f"{script} wait")
    got = {}
    for line in out.splitlines():
        parts = line.strip().split()
        if len(parts) == 2 and parts[1] in ("ok", "fail"):
            got[parts[0]] = parts[1] == "ok"
    missing = set(ips) - got.keys()
    assert not missing, f"no ping result for {missing}: {out!r}"
    return got


def reach(lab, src: str, want: dict[str, bool], timeout: float = 10) -> None:
    """Wait until `src`'s pings to each host named in `want` get a reply exactly where it
    says True; at the deadline, fail naming the hosts that differ."""
    from sovnet.poll import eventually

    ips = {lab.topology.host(name).ip: name for name in want}

    def check():
        got = pings(lab.host(src), list(ips))
        wrong = {ips[ip]: ok for ip, ok in got.items() if want[ips[ip]] != ok}
        assert not wrong, f"{src}: unexpected reachability {wrong}"

    eventually(check, timeout=timeout)


def http_status(host, ip: str, domain: str, timeout_s: float = 2) -> str:
    out = host.cmd(f"curl -s -m {timeout_s} -o /dev/null -w '%{{http_code}}' "
                   f"-H 'Host: {domain}' http://{ip}/")
    return out.strip()


def dig(host, resolver_ip: str, name: str) -> str:
    return host.cmd(f"dig +time=1 +tries=1 +short @{resolver_ip} {name} A").strip()



def run_scenario(scenario, out, timeout: float = 300):
    """`sovnet run SCENARIO --out OUT --quiet` in a process of its own; asserts it exited 0."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "sovnet", "run", str(scenario), "--out",
                           str(out), "--quiet"], capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc
