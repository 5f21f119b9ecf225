"""What runs inside an emulated host: the measurement agent and the probes it runs.

    python -m sovnet.probes.agent --name VANTAGE      # started in a host by the runner

Modules: agent (the long-lived process: JSON commands in, one JSON line per target out), web
(OONI Web Connectivity and page loads), stream (ICMP echo streams), net (DNS, TCP and HTTP
operations with OONI failure strings), parse (ping output and HTML, pure).

This package imports nothing else of sovnet: a host runs it with only the standard library,
dnslib and its own interpreter, and nothing of the runner, lab, store or controller can leak in
(`.venv/bin/lint-imports` checks it). The runner's side is sovnet.experiments.agent_pool.
"""
