#!/usr/bin/env python3
"""Would whitelisting the CDN have saved the bank? A custom experiment through the Python API.

    sudo .venv/bin/python experiments/whitelist_the_cdn.py [--out DIR] [--quick]

Takes the default national cutoff, shortens it, and runs it twice: as shipped (the domestic bank
is whitelisted but its foreign CDN is not) and with the CDN whitelisted too. It then compares
how usable the bank was during the cutoff in each run, and what else the wider whitelist let
through. Each run leaves its own folder and report; the comparison is printed, and written as a
report of its own (`sovnet report --compare`: the differences, then both runs' figures side by
side) to DIR/compare-cutoff-as-ordered-vs-cutoff-cdn-whitelisted/compare.html. `--quick`
shortens both runs to a few real seconds each (CI runs it as a smoke test of the Python API).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from sovnet.experiments import PolicyChange, load_scenario, run_scenario
from sovnet.model.command import PolicyRequest
from sovnet.model.scenario import parse_duration
from sovnet.report.compare import compare_runs

HERE = Path(__file__).resolve().parent


def variants(quick: bool = False):
    base = load_scenario(HERE / "national-cutoff.yaml")
    # 12 emulated hours are enough to see the cutoff: 2 h normal, 8 h cut, 2 h restored.
    # Quick: 1 h, 3 h and 1 h at one emulated hour per real second, a few probe rounds each.
    h = parse_duration("1h")
    cut, restored, end = (1 * h, 4 * h, 5 * h) if quick else (2 * h, 10 * h, 12 * h)
    steps = list(base.steps)
    steps[1] = dataclasses.replace(steps[1], at=cut)
    steps[2] = dataclasses.replace(steps[2], at=restored)
    short = dataclasses.replace(base, name="cutoff-as-ordered", duration=end,
                                time_scale=h if quick else base.time_scale,
                                steps=tuple(steps), expectations=(),
                                title="Cutoff with the whitelist as ordered")
    cdn = PolicyChange("cdn", PolicyRequest.of(
        "allow", "all", "service:cdn", 500,
        reason="whitelist the CDN the bank loads its scripts from"))
    wider = list(short.steps)
    wider[1] = dataclasses.replace(wider[1], add=wider[1].add + (cdn,),
                                   label=wider[1].label + " (and the CDN)")
    return short, dataclasses.replace(short, name="cutoff-cdn-whitelisted", steps=tuple(wider),
                                      title="Cutoff with the CDN whitelisted too")


def usable_share(folder: Path, service: str, phase: str) -> tuple[float, float, int]:
    ms = [json.loads(line) for line in (folder / "measurements.jsonl").open()]
    ms = [m for m in ms if m["test_name"] == "web_connectivity" and m["service"] == service
          and m["phase"] == phase and not m["probe_error"]]
    if not ms:
        return float("nan"), float("nan"), 0
    acc = sum(m["test_keys"]["accessible"] is True for m in ms) / len(ms)
    use = sum(m["test_keys"]["x_sovnet_usable"] is True for m in ms) / len(ms)
    return acc, use, len(ms)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="results", help="where the two run folders go")
    ap.add_argument("--quick", action="store_true",
                    help="5 emulated hours at 1 h per second instead of 12 at 1 h per 1.5 s")
    args = ap.parse_args()
    rows, folders = [], []
    for scenario in variants(args.quick):
        result = run_scenario(scenario, Path(args.out) / scenario.name)
        if result.status != "complete":
            print(f"{scenario.name}: {result.status}", file=sys.stderr)
            return result.exit_code
        folders.append(result.folder)
        for svc in ("bank", "video", "cdn", "social"):
            rows.append((scenario.name, svc, *usable_share(result.folder, svc, "cutoff")))
    print(f"\n{'run':<26}{'service':<9}{'accessible':>11}{'usable':>8}{'n':>5}")
    for name, svc, acc, use, n in rows:
        print(f"{name:<26}{svc:<9}{acc:>11.0%}{use:>8.0%}{n:>5}")
    a, b = folders
    print("\nside by side:", compare_runs(a, b, Path(args.out) / f"compare-{a.name}-vs-{b.name}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
