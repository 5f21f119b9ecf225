"""Faucet, side by side: the same network and the same ACL change under another controller.

    faucet_config(topology, denied) -> dict       config.py (pure)
    sovnet.bench_faucet                           installs Faucet, runs it, measures
"""
