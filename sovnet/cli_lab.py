"""`sovnet inspect`: the labs running on this machine, from their run-state files (what each
started: switches, host shells, controller, servers, and its store), as containerlab's
`inspect` shows its labs. Reads only; root is not needed.
"""

from __future__ import annotations

import json


def inspect(args) -> int:
    from sovnet.emulation.cleanup import describe, read_states

    labs = [describe(s) for s in read_states() if s.owner_alive()]
    if args.json:
        print(json.dumps(labs, indent=1))
        return 0
    if not labs:
        print("no sovnet lab is running")
        return 0
    print("\n\n".join(text(lab) for lab in labs))
    return 0


def text(lab: dict) -> str:
    def names(xs: list[str]) -> str:
        return ", ".join(xs[:12]) + (f", ... ({len(xs) - 12} more)" if len(xs) > 12 else "")

    procs = [f"{p['what']} (pid {p['pid']})" for p in lab["processes"]]
    return "\n".join([
        f"lab {lab['lab']}: topology {lab['topology']}, datapath {lab['datapath']}, "
        f"started {lab['started']} by pid {lab['pid']}",
        f"  store:      {lab['store'] or '-'}",
        f"  controller: {lab['controller'] or '-'}",
        f"  switches:   {len(lab['switches'])}: {names(lab['switches'])}",
        f"  hosts:      {len(lab['hosts'])}: {names(lab['hosts'])}",
        f"  processes:  {len(procs)}" + (f": {names(procs)}" if procs else ""),
        f"  workdir:    {lab['workdir']}",
    ])
