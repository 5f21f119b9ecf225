"""report.html to report.pdf, for papers: WeasyPrint lays the page out with the report's
print styles (A4, figures kept whole, the measurement explorer left to the HTML), and the
figures stay vector (they are SVG).

WeasyPrint is imported when asked for, so a report needs it only to be printed.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sovnet.report.dataset import ReportError


def write_pdf(html: Path, out: Path) -> Path:
    try:
        import weasyprint
    except (ImportError, OSError) as e:  # OSError: Pango, which it loads, is missing
        raise ReportError(f"cannot write {out}: the PDF export needs WeasyPrint and Pango "
                          f"(sudo ./setup.sh installs both): {e}") from None
    # It warns about every CSS property it does not know (box-shadow, ...): not the user's
    # business, since the print styles are written for it.
    for name in ("weasyprint", "fontTools"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        weasyprint.HTML(filename=str(html)).write_pdf(str(out))
    except OSError as e:
        raise ReportError(f"cannot write {out} ({e.strerror or e})") from None
    return out
