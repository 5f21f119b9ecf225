"""What the command line writes for readers: `sovnet report` (a run's report, two runs
compared), `sovnet run --repeat` (N runs summarised) and `sovnet graph` (a topology drawn).
sovnet.report and sovnet.experiments.repeat do the work.
"""

from __future__ import annotations

from pathlib import Path

from sovnet.errors import SovnetError, UsageError

MAX_REPEAT = 100


def run_repeated(scenario, args) -> int:
    from sovnet.experiments import repeat

    result = repeat.run_repeated(scenario, args.repeat, Path(args.out) if args.out else None,
                          progress=not args.quiet)
    for i, r in enumerate(result.runs, 1):
        held = sum(x.passed for x in r.expectations)
        print(f"run {i}: {r.status}, {held}/{len(r.expectations)} expectations hold: "
              f"{r.folder / 'report.html'}")
    print(f"summary of {len(result.runs)} runs: {result.html}")
    return result.exit_code


def report(args) -> int:
    from sovnet.report import build_report

    if args.compare:
        return _compare(args)
    if not args.folder:
        raise UsageError("report: give a run folder, or --compare RUN_A RUN_B")
    backfill_revisions(Path(args.folder))
    paths = build_report(args.folder, args.out)
    print(paths["html"])
    if args.pdf:
        from sovnet.report.pdf import write_pdf

        print(write_pdf(paths["html"], paths["html"].with_suffix(".pdf")))
    return 0


def _compare(args) -> int:
    from sovnet.report.compare import compare_runs

    if args.folder or args.pdf:
        raise UsageError("report: --compare takes two run folders and no other folder or "
                          "--pdf")
    a, b = (Path(f) for f in args.compare)
    for f in (a, b):
        backfill_revisions(f)
    out = Path(args.out) if args.out else b.resolve().parent / f"compare-{a.name}-vs-{b.name}"
    print(compare_runs(a, b, out))
    return 0


def backfill_revisions(folder: Path) -> None:
    """A folder from before revisions.jsonl has the store it was exported from: export it, so
    the report can say what was ordered; where that cannot be done the report does without."""
    import json

    from sovnet.store.orders import write_revisions

    out, db = folder / "revisions.jsonl", folder / "store.db"
    if out.exists() or not db.is_file():
        return
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
        topology = json.loads((folder / "topology.json").read_text())
        names = {int(s["dpid"]): s["name"] for s in topology.get("switches") or []}
        write_revisions(db, out, manifest.get("t0_wall"), float(manifest["time_scale"]), names)
    except (OSError, ValueError, KeyError, TypeError, SovnetError):
        out.unlink(missing_ok=True)  # half a file would be worse than none


GRAPH_FORMATS = (".svg", ".png", ".pdf")


def graph(args) -> int:
    """Draw a topology file, starting nothing: the report's drawing of the network."""
    import matplotlib

    matplotlib.use("Agg")
    from sovnet.config import load_topology
    from sovnet.report import topology_plot
    from sovnet.report.build import SVG_STYLE

    topo = load_topology(args.topology)  # a bad file is reported as every other one
    out = Path(args.out or f"{topo.name}.svg")
    if out.suffix.lower() not in GRAPH_FORMATS:
        raise UsageError(f"graph: cannot draw to {out} (expected a file ending in "
                         f"{', '.join(GRAPH_FORMATS)})")
    try:
        with matplotlib.rc_context(SVG_STYLE):
            topology_plot.figure(topo).savefig(out, dpi=150, facecolor="white",
                                               metadata={"Date": None}
                                               if out.suffix.lower() == ".svg" else None)
    except OSError as e:
        raise UsageError(f"graph: cannot write {out} ({e.strerror})") from None
    print(out)
    return 0
