"""`sovnet`: the command line. Maps errors to messages and exit codes; no tracebacks for users.

    sovnet run SCENARIO [--out DIR]      replay a scenario, measure it, write a report (root)
        [--repeat N]                     ... N times with different seeds, then a summary
    sovnet report DIR [--out D] [--pdf]  rebuild a run folder's plots and report (no root)
    sovnet report --compare A B          two runs side by side
    sovnet validate FILE... [--json]     check topologies and scenarios (policy sets with
                                         --topology); - reads standard input
    sovnet schema [scenario]             print the topology (or scenario) JSON Schema
    sovnet cli TOPOLOGY                  controller + network + servers + Mininet CLI (root)
    sovnet controller --store DB         run the os-ken controller in this process
    sovnet store DB COMMAND...           policy/subscriber/device/history/explain on a store,
                                         flowlog/retention for its flow records
    sovnet flows TOPOLOGY                compiled flows per switch (no root)
    sovnet graph TOPOLOGY [-o FILE]      the topology drawn to SVG, PNG or PDF (no root)
    sovnet inspect [--json]              the labs running here (no root)
    sovnet generate [PRESET] [-o FILE]   write a generated national network's topology file
    sovnet bench latency|startstop|dpi TOPO  enforcement latency, start/stop, inspector cost
    sovnet bench compile TOPO            the compiler alone: from scratch and per change
    sovnet bench report TOPO             report.html of a synthetic run of --measurements N
    sovnet clean                         remove what crashed sovnet runs left behind (root)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import signal
import sys
import time
from pathlib import Path

from sovnet import cli_api, cli_lab, cli_results
from sovnet.controller import launcher
from sovnet.errors import SovnetError, UsageError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sovnet", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--version", action="version", version=f"sovnet {_version()}")
    sub = p.add_subparsers(dest="cmd", required=True)

    r = sub.add_parser("run", help="replay a scenario and report what probes saw (root)")
    r.add_argument("scenario")
    r.add_argument("--out", help="the run folder (default: results/<UTC time>-<scenario>/)")
    r.add_argument("--quiet", action="store_true", help="no progress display")
    r.add_argument("--repeat", type=int, metavar="N", default=1,
                   help="run it N times with seeds seed, seed+1, ...; then a summary with "
                        "medians and confidence intervals (folder: --out, or results/...-xN)")

    rep = sub.add_parser("report", help="rebuild a run folder's plots, summary and report")
    rep.add_argument("folder", nargs="?", help="the run folder")
    rep.add_argument("--out", help="write the report here instead of into the run folder")
    rep.add_argument("--pdf", action="store_true",
                     help="also write report.pdf (A4, vector figures), for papers")
    rep.add_argument("--compare", nargs=2, metavar=("RUN_A", "RUN_B"),
                     help="put two runs side by side: their differences, then their figures "
                          "(written to --out, default compare-A-vs-B/ beside RUN_B)")

    v = sub.add_parser("validate", help="check topology, scenario and policy-set files")
    v.add_argument("files", nargs="+")
    v.add_argument("--topology", help="the topology policy sets refer to")
    v.add_argument("--json", action="store_true",
                   help="one JSON object per file: file, kind, ok, issues")

    sch = sub.add_parser("schema", help="print the JSON Schema of topology or scenario files")
    sch.add_argument("kind", nargs="?", choices=("topology", "scenario"), default="topology")

    c = sub.add_parser("cli", help="start a lab and open the interactive CLI (root)")
    c.add_argument("topology")
    c.add_argument("--workdir", help="where the store and logs go (default: a new temp dir)")
    c.add_argument("--policies", action="append", default=[],
                   help="a policy set to load before the CLI opens (repeatable)")
    c.add_argument("--api", metavar="PORT", type=int,
                   help="also serve the policy API on 127.0.0.1:PORT (tokens: --api-tokens)")
    c.add_argument("--api-tokens", metavar="FILE",
                   help="the API's tokens file (default: api-tokens.json in the workdir; "
                        "make tokens with `sovnet api token add`)")

    ctl = sub.add_parser("controller", help="run the controller (os-ken) in this process",
                         description=launcher.DESCRIPTION)
    launcher.add_arguments(ctl)

    s = sub.add_parser("store", help="run a policy command on a store file",
                       description="COMMAND: policy|subscriber|device|history|enforcement|explain|"
                                   "flowlog|retention")
    s.add_argument("--write", action="store_true",
                   help="let COMMAND change the store of a finished run (read-only otherwise)")
    s.add_argument("db")
    s.add_argument("command", nargs=argparse.REMAINDER)

    i = sub.add_parser("inspect", help="the sovnet labs running here: switches, hosts, "
                                       "controller, store")
    i.add_argument("--json", action="store_true", help="a JSON list, one object a lab")
    g = sub.add_parser("graph", help="draw a topology to SVG, PNG or PDF (starts nothing)")
    g.add_argument("topology")
    g.add_argument("-o", "--out", help="the file (default: NAME.svg); its suffix: the format")

    f = sub.add_parser("flows", help="compiled flows per switch for a topology")
    f.add_argument("topology")
    f.add_argument("--show", metavar="SWITCH", help="print that switch's flows")
    f.add_argument("--json", action="store_true",
                   help="one JSON object a switch (with its flows under --show)")

    g = sub.add_parser("generate", help="write a generated national network (topology YAML)",
                       description="A national network from a few numbers, deterministic for a "
                                   "seed. PRESET: national-250 or national-10k; options override "
                                   "the preset's values.")
    g.add_argument("preset", nargs="?")
    g.add_argument("-o", "--out", help="the file to write (default: standard output)")
    from sovnet.generate.params import Params
    for name, fld in Params.__dataclass_fields__.items():
        if name == "pods":
            g.add_argument("--pods", action=argparse.BooleanOptionalAction, default=None,
                           help="every subscriber in its switch's pod: a macvlan interface in "
                                "one shared host, not a namespace each (topologies/README.md)")
        elif name != "extra":
            kind = str if name == "name" else float if fld.type in ("float", "float | None") \
                else int
            g.add_argument(f"--{name}", type=kind, help=f"default {fld.default}")

    b = sub.add_parser("bench", help="measure (root, but for compile and report)")
    b.add_argument("what", choices=("latency", "startstop", "dpi", "compile", "report"))
    b.add_argument("topology")
    b.add_argument("--changes", type=int, default=20)
    b.add_argument("--bulk", type=int, default=0, metavar="N",
                   help="latency: then one revision of N allows, every access switch taking "
                        "N flows in one bundle (flows/s into OVS)")
    b.add_argument("--faucet", action="store_true",
                   help="latency: then the same change as a Faucet ACL on the same bridges "
                        "(installs Faucet from PyPI into .venv-faucet the first time)")
    b.add_argument("--whitelist", type=int, default=1000,
                   help="compile: allows beside the deny of international")
    b.add_argument("--connections", type=int, default=50, help="dpi: handshakes timed each way")
    b.add_argument("--bulk-bytes", type=int, default=20_000_000, help="dpi: bulk download size")
    b.add_argument("--burst-seconds", type=float, default=2.0, help="dpi: length of each burst")
    b.add_argument("--throttle-bytes", type=int, default=120_000,
                   help="dpi: bytes each way under the throttle")
    b.add_argument("--throttle-runs", type=int, default=3)
    b.add_argument("--measurements", type=int, default=100_000,
                   help="report: measurements in the synthetic run")
    b.add_argument("--keep", action="store_true", help="report: keep the synthetic run folder")

    sub.add_parser("clean", help="remove what crashed sovnet runs left behind (root)")
    cli_api.add_parser(sub)
    return p


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sovnet")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _terminate(*_):
    # SystemExit, not KeyboardInterrupt: Mininet's CLI swallows the latter (Ctrl-C at its
    # prompt only interrupts the running command), and SIGTERM must end the session.
    raise SystemExit(143)


def main(argv: list[str] | None = None) -> int:
    try:
        try:
            code = _main(argv)
        except KeyboardInterrupt:  # Ctrl-C anywhere, even while parsing or importing
            print("interrupted; everything this command started has been torn down",
                  file=sys.stderr)
            code = 130
        finally:
            # A reader that went away shows here, not in the exit's last flush (exit 120), also
            # when argparse exits from inside parse_args (--help, a usage error).
            sys.stdout.flush()
        return code
    except BrokenPipeError:
        # `sovnet ... | head`: the reader has what it wanted. As Python's "Note on SIGPIPE"
        # advises, point the closed streams at /dev/null so that no later flush fails, and end
        # as a process killed by SIGPIPE would be seen (128 + 13), quietly. A broken pipe to
        # anything else is a real error.
        closed = [s for s in (sys.stdout, sys.stderr) if _reader_gone(s)]
        if not closed:
            raise
        devnull = os.open(os.devnull, os.O_WRONLY)
        for stream in closed:
            os.dup2(devnull, stream.fileno())
        return 128 + signal.SIGPIPE


def _reader_gone(stream) -> bool:
    """Whether `stream` writes to a pipe or socket whose reading end is closed."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by a test, or closed
        return False
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poller.poll(0))


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    # SIGTERM (and SIGHUP: the terminal closed) unwind like Ctrl-C, so every `finally` tears
    # down what it started.
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    try:
        return _COMMANDS[args.cmd](args)
    except SovnetError as e:
        print(str(e), file=sys.stderr)
        return e.exit_code
    except SystemExit as e:
        if e.code == 143:
            print("terminated; everything this run started has been torn down", file=sys.stderr)
        raise


def _run(args) -> int:
    from sovnet.config.scenario import load_scenario

    scenario = load_scenario(args.scenario)  # bad input is reported before asking for root
    if not 1 <= args.repeat <= cli_results.MAX_REPEAT:
        raise UsageError(f"run: --repeat {args.repeat} is out of range (expected 1 to "
                         f"{cli_results.MAX_REPEAT})")
    _need_root()
    if args.repeat > 1:
        return cli_results.run_repeated(scenario, args)
    from sovnet.experiments.runner import run_scenario

    result = run_scenario(scenario, Path(args.out) if args.out else None,
                          progress=not args.quiet)
    for r in result.expectations:
        mark = "PASS" if r.passed else "FAIL"
        seen = "n/a" if r.observed is None else f"{r.observed:.3g}"
        print(f"{mark}  {r.name}: {r.metric} {seen} (expected {r.op} {r.threshold:g}, "
              f"n={r.n})")
    print(f"{result.status}: {result.folder / 'report.html'}")
    return result.exit_code


def _validate(args) -> int:
    from sovnet import cli_validate

    return cli_validate.validate(args)


def _schema(args) -> int:
    from sovnet.config.schema import schema_text

    print(schema_text(args.kind), end="")
    return 0


def _need_root() -> None:
    if os.geteuid() != 0:
        raise SovnetError("this command builds a network and needs root: run it with sudo")


def _cli(args) -> int:
    _need_root()
    from sovnet import commands
    from sovnet.config import load_topology
    from sovnet.lab import Lab

    topo = load_topology(args.topology)
    print(f"*** starting {topo.name}: {topo.size()} (controller, Open vSwitch, servers)")
    t0 = time.monotonic()
    with Lab(topo, workdir=args.workdir, source=args.topology) as lab:
        for ps in args.policies:
            print(commands.run(lab.store, ["policy", "load", ps])[0])
        print(f"*** ready in {time.monotonic() - t0:.1f} s; every switch enforces revision "
              f"{lab.store.revision()}")
        print(f"*** store {lab.store_path}; controller log {lab.workdir / 'controller.log'}")
        with contextlib.ExitStack() as api:
            if args.api is not None:
                from sovnet.api.serve import start_in_thread

                server = api.enter_context(start_in_thread(
                    lab.store_path, port=args.api, tokens_path=args.api_tokens))
                print(f"*** policy API on {server.url} (OpenAPI at {server.url}/openapi.json)")
            print("*** type 'sovnet' for policy commands, 'help' for Mininet's, 'exit' to stop")
            from sovnet.interactive import SovnetCLI

            SovnetCLI(lab)
            print("*** stopping")
    print(f"*** stopped; the store and logs are kept in {lab.workdir}")
    return 0


def _controller(args) -> int:
    return launcher.run_parsed(args)


def _store(args) -> int:
    from sovnet import commands

    command, write = list(args.command), args.write
    if command[:1] == ["--write"]:  # `sovnet store DB --write COMMAND` reads as well
        command, write = command[1:], True
    print(commands.run_on_file(args.db, command, write))
    return 0


def _generate(args) -> int:
    from sovnet.config import topology_from_text
    from sovnet.generate import generate, preset, topology_text

    params = preset(args.preset, **{k: getattr(args, k) for k in preset(None).__dataclass_fields__
                                    if k != "extra"})
    net = generate(params)
    text = topology_text(net)
    if args.out:
        Path(args.out).write_text(text)
    else:
        sys.stdout.write(text)
    # valid by construction; a failure here is sovnet's bug
    topo = topology_from_text(text, args.out or "<generated>")
    c = net.counts
    print(f"{params.name}: {c['isps']} ISPs, {c['subscribers']:,} subscribers, "
          f"{c['services']} services, {topo.size()}", file=sys.stderr)
    return 0


def _flows(args) -> int:
    from sovnet.compile import compile_flows
    from sovnet.config import load_topology
    from sovnet.model.policy import initial_subscribers

    topo = load_topology(args.topology)
    subs = initial_subscribers(topo)
    if args.show and not topo.has_switch(args.show):
        raise UsageError(f"flows --show: unknown switch {args.show!r} (expected one of: "
                         f"{', '.join(s.name for s in topo.switches)})")
    tables = compile_flows(topo, (), subs)
    by_dpid = {s.dpid: s for s in topo.switches}
    for dpid, flows in tables.items():
        sw = by_dpid[dpid]
        if args.show and args.show != sw.name:
            continue
        if args.json:
            print(json.dumps({"switch": sw.name, "dpid": dpid, "role": sw.role,
                              "flows": len(flows)}
                             | ({"rules": [f.to_json() for f in flows]} if args.show else {})))
            continue
        print(f"{sw.name:<10} dpid={dpid:<4} role={sw.role:<12} flows={len(flows)}")
        if args.show:
            for fl in flows:
                print("   ", fl.describe())
    counts = [len(f) for f in tables.values()]
    if not args.show and not args.json:
        print(f"total {sum(counts)} flows on {len(counts)} switches "
              f"(min {min(counts)}, median {sorted(counts)[len(counts) // 2]}, max {max(counts)})")
    return 0


def _bench(args) -> int:
    if args.what == "compile":  # the compiler alone: no root
        from sovnet import bench_compile

        return bench_compile.main(args)
    if args.what == "report":  # a synthetic run folder and a headless browser: no root
        from sovnet import bench_report

        return bench_report.main(args)
    _need_root()
    if args.what == "dpi":
        from sovnet import bench_dpi

        return bench_dpi.main(args)
    from sovnet import bench

    return bench.main(args)


def _clean(_args) -> int:
    _need_root()
    from sovnet.emulation.cleanup import cleanup_stale

    removed = cleanup_stale()
    print("\n".join(removed) if removed else "nothing to clean")
    return 0


_COMMANDS = {
    "run": _run, "report": cli_results.report, "validate": _validate, "schema": _schema,
    "cli": _cli, "controller": _controller, "store": _store, "graph": cli_results.graph,
    "inspect": cli_lab.inspect, "api": cli_api.handle,
    "flows": _flows, "generate": _generate, "bench": _bench, "clean": _clean,
}
