"""Probe agents: one `python -m sovnet.probes.agent` per vantage host, driven by pipes.

The runner writes a command line to an agent's stdin and gets one result line per target back;
a reader thread per agent puts them on one queue. An agent that dies or writes something that is
not JSON is reported on the queue too, with its raw output, so nothing is lost silently.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from sovnet.model.topology import resolver_ip


@dataclass
class Agent:
    host: str
    popen: subprocess.Popen
    log: Path
    lock: threading.Lock = field(default_factory=threading.Lock)
    dead: bool = False

    def tail(self, n: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


class AgentPool:
    """Start agents in hosts of a running Network; `results` is a queue of (host, dict)."""

    def __init__(self, network, logdir: Path, python: str = sys.executable):
        self.network = network
        self.logdir = Path(logdir)
        self.python = python
        self.agents: dict[str, Agent] = {}
        self.results: queue.Queue[tuple[str, dict]] = queue.Queue()
        self._threads: list[threading.Thread] = []

    def start(self, hosts: list[str]) -> None:
        self.logdir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        for host in hosts:
            if host in self.agents:
                continue
            log = self.logdir / f"agent-{host}.log"
            node = self.network.host(host)
            with open(log, "ab") as err:
                popen = node.popen(
                    [self.python, "-m", "sovnet.probes.agent", "--name", host,
                     *self._pod_options(host, node)],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, env=env,
                )
            self.network.track_process(popen.pid, f"probe agent in {host}")
            agent = Agent(host, popen, log)
            self.agents[host] = agent
            t = threading.Thread(target=self._read, args=(agent,), daemon=True,
                                 name=f"agent-{host}")
            t.start()
            self._threads.append(t)

    def _pod_options(self, host: str, node) -> list[str]:
        """A pod subscriber shares its namespace (and resolv.conf) with others: its agent binds
        to the subscriber's addresses and asks the subscriber's own ISP's resolver."""
        if not getattr(node, "source", None):
            return []
        options = ["--source", node.source]
        if node.source6:
            options += ["--source6", node.source6]
        resolver = resolver_ip(self.network.topology, host)
        return options + (["--resolver", resolver] if resolver else [])

    def _read(self, agent: Agent) -> None:
        for raw in agent.popen.stdout:
            text = raw.decode(errors="replace").strip()
            if not text:
                continue
            try:
                line = json.loads(text)
                if not isinstance(line, dict):
                    raise ValueError("not an object")
            except ValueError:
                line = {"error": "the agent wrote a line that is not a JSON object", "raw": text}
            self.results.put((agent.host, line))
        agent.dead = True
        self.results.put((agent.host, {"agent_exit": agent.popen.poll(), "raw": agent.tail()}))

    def send(self, host: str, command: dict) -> bool:
        """Queue a command; False when the agent is gone (the caller records the loss)."""
        agent = self.agents[host]
        if agent.dead:
            return False
        try:
            with agent.lock:
                agent.popen.stdin.write((json.dumps(command) + "\n").encode())
                agent.popen.stdin.flush()
            return True
        except (BrokenPipeError, ValueError, OSError):
            agent.dead = True
            return False

    def stop(self, timeout: float = 10.0) -> None:
        """Close every agent's stdin (it finishes what is in flight and exits), then reap."""
        for agent in self.agents.values():
            try:
                agent.popen.stdin.close()
            except OSError:
                pass
        for agent in self.agents.values():
            try:
                agent.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                agent.popen.kill()
                agent.popen.wait()
            self.network.untrack_process(agent.popen.pid)
        for t in self._threads:
            t.join(timeout=2)
        self.agents.clear()
