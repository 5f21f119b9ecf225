"""A run's report, rebuilt from its folder alone (no root, no network).

    build_report(folder) -> {"html": Path, "summary": Path, <plot key>: Path, ...}
    load_run(folder) -> Run          the folder read into plain values (results/README.md)
    ReportError                      not a run folder, or a malformed file (names file:line)

Modules: dataset (reading), analysis (what to show), figures and topology_plot (drawing),
html and summary (writing), style (colours and the shared time decorations).
"""

from sovnet.report.build import build_report
from sovnet.report.dataset import ReportError, Run, load_run

__all__ = ["ReportError", "Run", "build_report", "load_run"]
