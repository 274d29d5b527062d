"""The demo's report: ClickHouse rows → a report model → text for the terminal and a
self-contained HTML page (inline SVG charts, no network).

``queries.fetch(engine)`` runs the SQL (read-only, the analysts' tables); ``build.build_report``
turns rows and the simulator's expectations into a :class:`~ticketstream.report.model.Report`
(pure); ``text.render_text`` and ``html.render_html`` render it (pure).
"""

from ticketstream.report.build import build_report, check_report
from ticketstream.report.html import render_html
from ticketstream.report.model import Expected, Report, ReportRows
from ticketstream.report.queries import fetch
from ticketstream.report.text import render_text

__all__ = [
    "Expected",
    "Report",
    "ReportRows",
    "build_report",
    "check_report",
    "fetch",
    "render_html",
    "render_text",
]
