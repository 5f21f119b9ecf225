"""The measurement explorer: every measurement of the run as a table inside report.html,
filtered and sorted in the page, each row opening to its raw record beside its control.

section(run: Run) -> the HTML of the explorer's <section>, or "" when the run has no measurements.

The page stays one self-contained file that works offline: the index and the records are
embedded (explorer_data: a columnar index, the raw lines gzip-compressed in chunks, base64 in
<script type="application/octet-stream"> elements the browser does not run) and inflated in
the browser with the standard DecompressionStream. The script (assets/explorer.js) is vanilla
JavaScript, a few hundred lines, with no framework, library or build step: the report is an
archive that must still open years from now from a mail attachment, so it carries nothing it
would have to fetch and nothing that needs a toolchain to rebuild. It writes data into the page
through textContent only, so a record's strings are never parsed as HTML.

With JavaScript off the section says so; in print (report.pdf) it is a one-line pointer to the
HTML.
"""

from __future__ import annotations

import base64
import re
from functools import cache
from importlib import resources

from sovnet.report import explorer_data
from sovnet.report.dataset import Run
from sovnet.report.style import Timeline

# Inline text that would end its <script> or <style> element early, or open a comment that
# changes how the rest of a script element is parsed.
_BREAKS_OUT = re.compile(r"</(script|style)|<!--", re.I)


def inlinable(text: str, name: str) -> str:
    if _BREAKS_OUT.search(text):
        raise ValueError(f"{name} cannot be inlined: it contains </script, </style or <!--")
    return text


@cache
def asset(name: str) -> str:
    """assets/NAME, checked fit to go inline."""
    path = resources.files("sovnet.report").joinpath("assets", name)
    return inlinable(path.read_text("utf-8"), f"assets/{name}")


def _blob(attrs: str, data: bytes) -> str:
    # base64 is letters, digits, + / and =: nothing in it can end the element
    return (f'<script type="application/octet-stream" {attrs}>'
            f"{base64.b64encode(data).decode('ascii')}</script>")


def section(run: Run) -> str:
    path = run.folder / "measurements.jsonl"
    if not path.exists():
        return ""
    data = explorer_data.build(explorer_data.read_records(path))
    if data.n == 0:
        return ""
    tl = Timeline.from_run(run)
    # How the figures show scenario time (their unit), and the phases in the run's order
    # rather than alphabetical, for the phase filter.
    meta = {"unit": tl.unit, "unit_s": tl.unit_s, "phases": [p.name for p in run.phases]}
    index = explorer_data.gzip_json(data.index | meta)
    blobs = [_blob('id="sx-index"', index)]
    blobs += [_blob(f'id="sx-c{k}"', c) for k, c in enumerate(data.chunks)]
    n = f"{data.n:,}"
    return (
        f'<section id="sx" class="explorer" data-n="{data.n}">'
        '<h2>Measurements</h2>'
        f'<p class="sub screen-only">All {n} measurements of the run, as the probes recorded '
        "them. Filter and sort them here; click a row, or focus it and press Enter, to open "
        "its raw record (the line of <code>measurements.jsonl</code>), beside the control "
        "measurement for web_connectivity.</p>"
        f'<p class="sx-print">{n} measurements: the explorer of report.html shows each of them '
        "and its raw record.</p>"
        f"<style>{asset('explorer.css')}</style>"
        '<noscript><p class="note">The explorer needs JavaScript; the records are in the run '
        "folder's measurements.jsonl.</p></noscript>"
        f'<div class="sx-app screen-only"></div>{"".join(blobs)}'
        f"<script>{asset('explorer.js')}</script></section>")
