"""Report → plain text for the terminal (pure)."""

from __future__ import annotations

from datetime import datetime

from ticketstream.report.model import Report

BAR_WIDTH = 40


def duration(seconds: float) -> str:
    """``95`` → ``1m35s``, ``7322`` → ``2h02m``; whole seconds below a minute."""
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def _when(at: datetime | None) -> str:
    return "-" if at is None else at.strftime("%Y-%m-%d %H:%M UTC")


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)
    ]
    out = ["  " + "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    out.append("  " + "  ".join("-" * w for w in widths))
    for r in rows:
        out.append(
            "  "
            + "  ".join(
                c.ljust(w) if i == 0 or not c[:1].isdigit() else c.rjust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    return out


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def render_text(report: Report) -> str:
    """The whole report as text lines (ends with the checks and OK/MISMATCH)."""
    out: list[str] = [report.title, "=" * len(report.title)]
    out.append(
        f"simulated {_when(report.start)} → {_when(report.end)}; "
        f"{report.tickets:,} tickets, {report.messages_inbound:,} customer messages, "
        f"{report.messages_outbound:,} replies, {report.breaches_total:,} SLA breaches"
    )
    out += ["", "Tickets by channel"]
    out += _table(("channel", "tickets"), [(c, f"{n:,}") for c, n in report.tickets_by_channel])

    out += ["", "SLA achievement per metric and priority (completed timers)"]
    out += _table(
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
            for s in report.sla
        ],
    )

    out += ["", "First reply time by channel (calendar time, human agents)"]
    out += _table(
        ("channel", "tickets", "p50", "p90"),
        [
            (f.channel, f"{f.tickets:,}", duration(f.p50_seconds), duration(f.p90_seconds))
            for f in report.first_reply
        ],
    )

    out += ["", "SLA breaches per metric and priority"]
    out += _table(
        ("metric", "priority", "SLA engine", "simulator"),
        [
            (
                b.metric,
                b.priority,
                f"{b.reported:,}",
                "-" if b.expected is None else f"{b.expected:,}",
            )
            for b in report.breaches
        ],
    )

    out += ["", "Backlog (unsolved tickets) over the simulated time"]
    peak = max((p.unsolved for p in report.backlog), default=0)
    for p in report.backlog:
        bar = "#" * (round(BAR_WIDTH * p.unsolved / peak) if peak else 0)
        out.append(f"  {p.at.strftime('%m-%d %H:%M')}  {p.unsolved:>7,}  {bar}")

    if report.endpoints:
        out += ["", "Where to look"]
        out += [f"  {e.name:<28} {e.url}" for e in report.endpoints]
    if report.notes:
        out += [""] + [f"  note: {n}" for n in report.notes]

    out += ["", "Checks"]
    for c in report.checks:
        mark = "ok      " if c.ok else "MISMATCH"
        out.append(f"  [{mark}] {c.name}: expected {c.expected}, found {c.actual}")
        if c.detail:
            out.append(f"             {c.detail}")
    out.append("")
    out.append(
        "ALL CHECKS PASSED" if report.ok else "CHECKS FAILED: the numbers above do not agree"
    )
    return "\n".join(out) + "\n"
