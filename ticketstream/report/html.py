"""Report → one self-contained HTML page: inline CSS and inline SVG charts, no scripts, no
network (it opens from a file, in a mail attachment or in a headless browser alike). Pure."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from ticketstream.report.model import BacklogPoint, Report
from ticketstream.report.text import duration, pct

GREEN, RED, BLUE, NAVY, GREY = "#2e9e5b", "#d64541", "#4a90d9", "#1f3a68", "#9aa5b1"
LABEL_W, BAR_W, ROW_H = 260, 460, 26

CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', 'Noto Sans', sans-serif; margin: 24px;
       color: #1d2733; background: #fff; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; }
p.sub { color: #52606d; margin: 0 0 16px; }
table { border-collapse: collapse; margin: 4px 0 12px; font-size: 14px; }
th, td { border-bottom: 1px solid #e4e7eb; padding: 4px 10px; text-align: right; }
th:first-child, td:first-child, td.l, th.l { text-align: left; }
.ok { color: #1e7b45; font-weight: 600; } .bad { color: #b3261e; font-weight: 600; }
.banner { padding: 10px 14px; border-radius: 6px; font-weight: 600; margin: 12px 0; }
.banner.ok { background: #e3f5ea; } .banner.bad { background: #fdecea; }
svg.chart { display: block; margin: 6px 0 16px; }
svg text { font-size: 12px; fill: #1d2733; }
code { background: #f0f2f5; padding: 1px 4px; border-radius: 3px; }
"""


def _svg(kind: str, title: str, width: int, height: int, body: list[str]) -> str:
    return (
        f'<svg class="chart" data-chart="{escape(kind)}" xmlns="http://www.w3.org/2000/svg" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>' + "".join(body) + "</svg>"
    )


def hbar_chart(
    kind: str,
    title: str,
    rows: Sequence[tuple[str, Sequence[tuple[float, str, str]]]],
    max_value: float,
) -> str:
    """Horizontal bars: per row a label and one or more (value, colour, text) bars drawn one
    under the other (values scaled to ``max_value``)."""
    body: list[str] = []
    y = 4
    scale = BAR_W / max_value if max_value > 0 else 0.0
    for label, bars in rows:
        band = max(1, len(bars)) * 14 + 8
        body.append(
            f'<text x="{LABEL_W - 8}" y="{y + band / 2 + 4:.0f}" text-anchor="end">'
            f"{escape(label)}</text>"
        )
        for i, (value, colour, text) in enumerate(bars):
            w = max(0.0, value * scale)
            by = y + 4 + i * 14
            body.append(
                f'<rect class="bar" x="{LABEL_W}" y="{by}" width="{w:.1f}" height="12" '
                f'fill="{colour}"><title>{escape(label)}: {escape(text)}</title></rect>'
            )
            body.append(f'<text x="{LABEL_W + w + 6:.1f}" y="{by + 10}">{escape(text)}</text>')
        y += band
    return _svg(kind, title, LABEL_W + BAR_W + 120, y + 4, body)


def stacked_pct_chart(kind: str, title: str, rows: Sequence[tuple[str, int, int]]) -> str:
    """One 100 % bar per row: achieved (green) then breached (red), with the percentage."""
    body: list[str] = []
    y = 4
    for label, achieved, breached in rows:
        done = achieved + breached
        body.append(
            f'<text x="{LABEL_W - 8}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
        )
        if done:
            wa = BAR_W * achieved / done
            body.append(
                f'<rect class="bar" x="{LABEL_W}" y="{y + 4}" width="{wa:.1f}" height="16" '
                f'fill="{GREEN}"><title>{escape(label)}: {achieved} achieved</title></rect>'
            )
            body.append(
                f'<rect class="bar" x="{LABEL_W + wa:.1f}" y="{y + 4}" width="{BAR_W - wa:.1f}" '
                f'height="16" fill="{RED}"><title>{escape(label)}: {breached} breached</title></rect>'
            )
            text = pct(100 * achieved / done)
        else:
            body.append(
                f'<rect x="{LABEL_W}" y="{y + 4}" width="{BAR_W}" height="16" fill="#eef0f3"/>'
            )
            text = "no completed timers"
        body.append(f'<text x="{LABEL_W + BAR_W + 6}" y="{y + 16}">{escape(text)}</text>')
        y += ROW_H
    return _svg(kind, title, LABEL_W + BAR_W + 140, y + 4, body)


def line_chart(kind: str, title: str, points: Sequence[BacklogPoint]) -> str:
    """The backlog over time: a filled line with hour labels on x and counts on y."""
    width, height, left, bottom, top = 820, 260, 60, 30, 12
    plot_w, plot_h = width - left - 20, height - bottom - top
    body: list[str] = []
    peak = max((p.unsolved for p in points), default=0) or 1
    n = len(points)

    def xy(i: int, v: int) -> tuple[float, float]:
        x = left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)
        return x, top + plot_h - plot_h * v / peak

    body.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        f'stroke="{GREY}"/><line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" '
        f'stroke="{GREY}"/>'
    )
    for frac in (0.0, 0.5, 1.0):
        v = round(peak * frac)
        _, y = xy(0, v)
        body.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{v:,}</text>')
    if points:
        coords = [xy(i, p.unsolved) for i, p in enumerate(points)]
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        area = f"{coords[0][0]:.1f},{top + plot_h} {line} {coords[-1][0]:.1f},{top + plot_h}"
        body.append(f'<polygon class="area" points="{area}" fill="{BLUE}" fill-opacity="0.25"/>')
        body.append(
            f'<polyline class="line" points="{line}" fill="none" stroke="{NAVY}" stroke-width="2"/>'
        )
        every = max(1, n // 8)
        for i in range(0, n, every):
            x, _ = xy(i, 0)
            label = points[i].at.strftime("%H:%M" if n <= 49 else "%m-%d %H:%M")
            body.append(
                f'<text x="{x:.1f}" y="{top + plot_h + 18}" text-anchor="middle">{label}</text>'
            )
    return _svg(kind, title, width, height, body)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(report: Report) -> str:
    """The whole report as a standalone HTML document (UTF-8)."""
    r = report
    when = (
        f"{r.start:%Y-%m-%d %H:%M} → {r.end:%Y-%m-%d %H:%M} UTC (simulated)"
        if r.start and r.end
        else "no ticket events"
    )
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(r.title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(r.title)}</h1>",
        f'<p class="sub">{escape(when)} · generated {r.generated_at:%Y-%m-%d %H:%M:%S} UTC · '
        f"{r.tickets:,} tickets · {r.messages_inbound:,} customer messages · {r.messages_outbound:,} "
        f"replies · {r.breaches_total:,} SLA breaches</p>",
        f'<div class="banner {"ok" if r.ok else "bad"}" id="verdict">'
        + ("All checks passed" if r.ok else "Checks failed: the numbers do not agree")
        + "</div>",
    ]

    parts.append("<h2>SLA achievement per metric and priority</h2>")
    parts.append(
        stacked_pct_chart(
            "sla-achievement",
            "SLA achievement (completed timers: achieved vs breached)",
            [(f"{s.metric} / {s.priority}", s.achieved, s.breached) for s in r.sla],
        )
    )
    parts.append(
        _table(
            ("metric", "priority", "timers", "achieved", "breached", "open", "achievement"),
            [
                (
                    s.metric,
                    s.priority,
                    f"{s.timers:,}",
                    f"{s.achieved:,}",
                    f"{s.breached:,}",
                    f"{s.open:,}",
                    pct(s.achievement_pct),
                )
                for s in r.sla
            ],
        )
    )

    parts.append("<h2>First reply time by channel (p50 / p90)</h2>")
    parts.append(
        hbar_chart(
            "first-reply",
            "First reply time by channel, p50 and p90",
            [
                (
                    f.channel,
                    [
                        (f.p50_seconds, BLUE, f"p50 {duration(f.p50_seconds)}"),
                        (f.p90_seconds, NAVY, f"p90 {duration(f.p90_seconds)}"),
                    ],
                )
                for f in r.first_reply
            ],
            max((f.p90_seconds for f in r.first_reply), default=0),
        )
    )
    parts.append(
        _table(
            ("channel", "tickets", "p50", "p90"),
            [
                (f.channel, f"{f.tickets:,}", duration(f.p50_seconds), duration(f.p90_seconds))
                for f in r.first_reply
            ],
        )
    )

    parts.append("<h2>SLA breaches per metric and priority</h2>")
    bars: list[tuple[str, Sequence[tuple[float, str, str]]]] = []
    for b in r.breaches:
        one = [(float(b.reported), RED, f"SLA engine {b.reported:,}")]
        if b.expected is not None:
            one.append((float(b.expected), GREY, f"simulator {b.expected:,}"))
        bars.append((f"{b.metric} / {b.priority}", one))
    top = max([b.reported for b in r.breaches] + [b.expected or 0 for b in r.breaches] + [0])
    parts.append(hbar_chart("breaches", "SLA breaches: SLA engine vs simulator", bars, top))

    parts.append("<h2>Backlog: unsolved tickets over the simulated time</h2>")
    parts.append(line_chart("backlog", "Unsolved tickets over time", r.backlog))

    parts.append("<h2>Tickets by channel</h2>")
    parts.append(_table(("channel", "tickets"), [(c, f"{n:,}") for c, n in r.tickets_by_channel]))

    parts.append("<h2>Checks</h2>")
    rows = "".join(
        f'<tr><td class="l">{escape(c.name)}</td><td>{escape(c.expected)}</td>'
        f"<td>{escape(c.actual)}</td>"
        f'<td class="{"ok" if c.ok else "bad"}">{"ok" if c.ok else "MISMATCH"}</td>'
        f'<td class="l">{escape(c.detail)}</td></tr>'
        for c in r.checks
    )
    parts.append(
        '<table id="checks"><thead><tr><th>check</th><th>expected</th><th>found</th>'
        f"<th></th><th class='l'>detail</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    if r.endpoints:
        parts.append("<h2>Where to look</h2><table>")
        parts.extend(
            f'<tr><td class="l">{escape(e.name)}</td><td class="l"><code>{escape(e.url)}</code>'
            "</td></tr>"
            for e in r.endpoints
        )
        parts.append("</table>")
    if r.notes:
        parts.append("<ul>" + "".join(f"<li>{escape(n)}</li>" for n in r.notes) + "</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
