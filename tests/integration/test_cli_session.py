"""`sovnet cli` as a person uses it: policy commands at the prompt, then exit; nothing left."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sovnet.config import load_topology

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = ROOT / "topologies" / "minimal.yaml"


def bridges() -> set[str]:
    out = subprocess.run(["ovs-vsctl", "list-br"], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_interactive_session_enforces_and_explains_then_tears_down(tmp_path):
    topo = load_topology(str(TOPOLOGY))
    victim = next(s for s in topo.services if s.locus == "foreign")
    sub = next(s.name for s in topo.subscribers if s.registered)
    script = (
        "\n".join(
            [
                f"policy add deny service:{victim.name} --why 'court order 12'",
                "policy list",
                f"explain {sub} {victim.domains[0]}",
                f"{sub} ping -c1 -W1 {topo.host(victim.name).ip}",
                "history -n 2",
                "policy revoke 1",
                "exit",
            ]
        )
        + "\n"
    )
    before = bridges()
    assert not ({s.name for s in topo.switches} & before), "a previous run left bridges behind"
    res = subprocess.run(
        [sys.executable, "-m", "sovnet", "cli", str(TOPOLOGY), "--workdir", str(tmp_path)],
        input=script,
        capture_output=True,
        text=True,
        timeout=240,
    )
    out = res.stdout + res.stderr  # Mininet prints node commands' output via its logger
    assert res.returncode == 0, res.stderr[-3000:]
    assert f"added #1 deny service:{victim.name} for all (priority 100)" in out
    assert "enforced revision 2; last switch: +" in out
    assert "decided by policy #1 deny service:" in out and "court order 12" in out
    assert "1 packets transmitted, 0 received" in out
    assert "revoked #1" in out
    assert "enforced revision 3" in out
    left = {s.name for s in topo.switches} & bridges()
    assert not left, f"bridges left behind: {left}"
    assert bridges() == before


def test_sigterm_while_the_cli_is_open_tears_everything_down(tmp_path):
    from sovnet.poll import eventually
    from sovnet.store import open_store

    topo = load_topology(str(TOPOLOGY))
    proc = subprocess.Popen([sys.executable, "-m", "sovnet", "cli", str(TOPOLOGY),
                             "--workdir", str(tmp_path)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        def up():
            assert proc.poll() is None, proc.stderr.read()
            assert (tmp_path / "store.db").exists()
            acked = {a.dpid for a in open_store(tmp_path / "store.db").acks(1)}
            assert acked == {s.dpid for s in topo.switches}

        eventually(up, timeout=120, interval=0.2)
        proc.terminate()
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143
    assert "terminated; everything this run started has been torn down" in err
    assert not ({s.name for s in topo.switches} & bridges())
    assert not list(Path("/run/sovnet").glob(f"{proc.pid}-*.json"))
    ctl = subprocess.run(["pgrep", "-f", f"sovnet controller --store {tmp_path}"],
                         capture_output=True, text=True)
    assert ctl.stdout == ""
