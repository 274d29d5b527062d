"""The demo's HTML report renders in headless Chromium: the DOM holds every chart, and a
screenshot is not blank and shows the charts' colours (bars, line) where they belong.

Chromium is the Debian package ``chromium``, installed by the project's own installer when it is
missing (``ensure_apt_packages``); a machine where it cannot be installed fails this test.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ticketstream.devstack import InstallError, ensure_apt_packages
from ticketstream.report import Expected, ReportRows, build_report, render_html
from ticketstream.report.html import GREEN, NAVY, RED
from ticketstream.report.model import Endpoint

from .png import Image, read_png

T0 = datetime(2026, 11, 15, 17, 0, tzinfo=UTC)
SCALE = 0.5  # screenshot at half size: the pure-Python PNG reader stays fast
WIDTH, HEIGHT = 1100, 2400


def _ms(hours: float) -> int:
    return int((T0 + timedelta(hours=hours)).timestamp() * 1000)


def _rows() -> ReportRows:
    status: list[tuple[str, int, int, str]] = []
    for i in range(120):  # a ticket every 12 minutes, solved 3 hours later
        status.append((f"T{i}", _ms(i * 0.2), 1, "new"))
        status.append((f"T{i}", _ms(i * 0.2 + 3), 2, "solved"))
    return ReportRows(
        tickets_by_channel=(("line", 60), ("whatsapp", 40), ("wechat", 20)),
        tickets_opened_events=120,
        messages_by_type=(("AgentReplied", 200), ("ChannelMessageReceived", 300)),
        sla=(
            ("first_reply_time", "urgent", 10, 8, 2, 0),
            ("first_reply_time", "normal", 80, 70, 6, 4),
            ("total_resolution_time", "normal", 80, 60, 10, 10),
        ),
        first_reply=(
            ("line", 60, 600, 3000),
            ("whatsapp", 40, 900, 5400),
            ("wechat", 20, 300, 1200),
        ),
        breach_events=(
            ("first_reply_time", "urgent", 2),
            ("first_reply_time", "normal", 6),
            ("total_resolution_time", "normal", 10),
        ),
        status_events=tuple(status),
    )


@pytest.fixture(scope="module")
def chromium() -> str:
    try:
        ensure_apt_packages(["chromium"])
    except InstallError as exc:
        pytest.fail(f"headless Chromium is needed and could not be installed: {exc}", pytrace=False)
    path = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if path is None:
        pytest.fail(
            "the chromium package is installed but no chromium executable was found", pytrace=False
        )
    return path


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    expected = Expected(
        tickets=120,
        tickets_by_channel={"line": 60, "whatsapp": 40, "wechat": 20},
        messages=300,
        breaches={("first_reply_time", "urgent"): 2, ("first_reply_time", "normal"): 6,
                  ("total_resolution_time", "normal"): 10},
        start=T0,
        end=T0 + timedelta(days=1),
    )  # fmt: skip
    report = build_report(
        _rows(), expected, generated_at=T0 + timedelta(days=1),
        endpoints=[Endpoint("Prometheus", "http://127.0.0.1:19090")],
    )  # fmt: skip
    assert report.ok
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_html(report))
    yield path


def _chromium(chromium: str, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--no-first-run", "--disable-extensions", f"--user-data-dir={tmp / 'profile'}",
            *args,
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_dom_holds_every_chart_with_its_marks(chromium: str, page: Path, tmp_path: Path) -> None:
    done = _chromium(chromium, tmp_path, "--dump-dom", page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    charts = re.findall(r'<svg class="chart" data-chart="([a-z-]+)"', dom)
    assert charts == ["sla-achievement", "first-reply", "breaches", "backlog"]
    backlog = dom.split('data-chart="backlog"')[1].split("</svg>")[0]
    assert backlog.count('class="line"') == 1
    points = re.search(r'class="line" points="([^"]+)"', backlog)
    assert points is not None and len(points.group(1).split()) == 25  # hourly over one day
    assert 'id="verdict">All checks passed' in dom


def _close(p: tuple[int, int, int], colour: str, tolerance: int = 24) -> bool:
    want = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return all(abs(a - b) <= tolerance for a, b in zip(p, want, strict=True))


def _screenshot(chromium: str, page: Path, tmp: Path) -> Image:
    png = tmp / "report.png"
    done = _chromium(
        chromium, tmp, f"--screenshot={png}", f"--window-size={WIDTH},{HEIGHT}",
        f"--force-device-scale-factor={SCALE}", page.as_uri(),
    )  # fmt: skip
    assert done.returncode == 0 and png.exists(), done.stderr[-2000:]
    return read_png(png.read_bytes())


def test_screenshot_is_not_blank_and_shows_the_charts(
    chromium: str, page: Path, tmp_path: Path
) -> None:
    img = _screenshot(chromium, page, tmp_path)
    assert (img.width, img.height) == (int(WIDTH * SCALE), int(HEIGHT * SCALE))
    pixels = img.pixels()
    non_white = sum(1 for p in pixels if min(p) < 235)
    assert non_white > 0.02 * len(pixels), f"only {non_white} of {len(pixels)} pixels drawn"
    assert len(set(pixels)) > 50  # text, bars and lines, not a flat colour
    green = sum(1 for p in pixels if _close(p, GREEN))
    red = sum(1 for p in pixels if _close(p, RED))
    navy = sum(1 for p in pixels if _close(p, NAVY))
    # achieved bars (green), breached bars (red), the backlog line and p90 bars (navy)
    assert green > 500 and red > 100 and navy > 100, (green, red, navy)
    # the charts are laid out top to bottom: the first green pixel (SLA chart) comes before the
    # last navy one (backlog line, further down)
    first_green = min(
        y
        for y in range(img.height)
        for x in range(0, img.width, 2)
        if _close(img.pixel(x, y), GREEN)
    )
    last_navy = max(
        y
        for y in range(img.height)
        for x in range(0, img.width, 2)
        if _close(img.pixel(x, y), NAVY)
    )
    assert first_green < last_navy
