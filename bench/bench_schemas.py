"""Benchmark: the codec vs raw fastavro on a typical ChannelMessageReceived, same run.

    python -m bench.bench_schemas [--rounds 31] [--iterations 3000]

Both sides encode and decode the same record: the codec from/to the frozen dataclass with the
single-object header (``schemas.codec.encode``/``decode``), the baseline from/to the equivalent
dict with ``fastavro.schemaless_writer``/``schemaless_reader`` and the same parsed schema.
Rounds alternate the two sides (and their order) so machine noise hits both; the ratio is the
median over rounds of codec throughput / baseline throughput. Target: ≥ 0.80.
Writes bench/results/schemas.json and bench/results/schemas.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import fastavro
from fastavro import schemaless_reader, schemaless_writer

from schemas import codec, convert
from schemas import records as r

RESULTS = Path(__file__).resolve().parent / "results"
TARGET = 0.80


def typical_message() -> r.ChannelMessageReceived:
    """A LINE text message with one image, a reply token and the usual optional fields."""
    sent = datetime(2026, 11, 23, 7, 30, 0, 123000, tzinfo=UTC)
    return r.ChannelMessageReceived(
        envelope=r.Envelope(
            event_id="line:U4af4980629:5d2a1b7c-msg-468789577898262530",
            occurred_at=sent,
            recorded_at=sent + timedelta(milliseconds=84),
            aggregate_id="line:1657123456:U4af4980629",
            aggregate_version=1,
            causation_id="line:webhook:01HGW2N7EXAMPLE",
            correlation_id="line:U4af4980629:5d2a1b7c-msg-468789577898262530",
            actor=r.Actor(r.ActorKind.CUSTOMER, "U4af4980629"),
            tenant_id="tesco-lotus",
            brand_id="lotuss-th",
        ),
        channel=r.Channel.LINE,
        account_id="1657123456",
        external_conversation_id="U4af4980629",
        external_user_id="U4af4980629",
        external_message_id="468789577898262530",
        dedup_key="line:1657123456:468789577898262530",
        conversation_key="line:1657123456:U4af4980629",
        text="สวัสดีครับ สั่งของเมื่อวานแต่ยังไม่ได้รับเลย เลขพัสดุ TH123456789 ช่วยตรวจสอบให้หน่อยครับ 🙏",
        sent_at=sent,
        attachments=(
            r.Attachment(
                kind="image",
                url="https://api-data.line.me/v2/bot/message/468789577898262530/content",
                external_id="468789577898262530",
                mime_type="image/jpeg",
                size_bytes=184_223,
            ),
        ),
        language="th",
        customer_display_name="สมชาย",
        reply_context={"reply_token": "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA"},
        reply_context_expires_at=sent + timedelta(minutes=1),
    )


def _timed(fn: Callable[[], Any], iterations: int) -> float:
    start = time.perf_counter()
    for _ in range(iterations):
        fn()
    return time.perf_counter() - start


def run(rounds: int, iterations: int) -> dict[str, Any]:
    record = typical_message()
    the_codec = codec.configure(registry_url=None)  # single-object encoding, the default
    parsed = the_codec.schemas["ChannelMessageReceived"].parsed
    datum = convert.to_avro(record)

    def raw() -> Any:
        buf = BytesIO()
        schemaless_writer(buf, parsed, datum)
        buf.seek(0)
        return schemaless_reader(buf, parsed)

    def through_codec() -> Any:
        return codec.decode(codec.encode(record))

    assert through_codec() == record
    assert convert.from_avro(r.ChannelMessageReceived, raw()) == record  # the same record
    size_codec = len(codec.encode(record))
    buf = BytesIO()
    schemaless_writer(buf, parsed, datum)
    size_raw = len(buf.getvalue())

    for _ in range(max(1, iterations // 10)):  # warm up both
        raw()
        through_codec()
    raw_rates: list[float] = []
    codec_rates: list[float] = []
    ratios: list[float] = []
    for i in range(rounds):
        order = [(raw, raw_rates), (through_codec, codec_rates)]
        if i % 2:
            order.reverse()
        for fn, rates in order:
            rates.append(iterations / _timed(fn, iterations))
        ratios.append(codec_rates[-1] / raw_rates[-1])
    ratio = statistics.median(ratios)
    return {
        "benchmark": "encode+decode of a typical ChannelMessageReceived",
        "baseline": "fastavro.schemaless_writer + schemaless_reader on the same record as a dict",
        "candidate": "schemas.codec.encode + decode (frozen dataclass, single-object encoding)",
        "rounds": rounds,
        "iterations_per_round": iterations,
        "baseline_records_per_s_median": round(statistics.median(raw_rates)),
        "codec_records_per_s_median": round(statistics.median(codec_rates)),
        "baseline_us_per_record_median": round(1e6 / statistics.median(raw_rates), 2),
        "codec_us_per_record_median": round(1e6 / statistics.median(codec_rates), 2),
        "ratio_median": round(ratio, 3),
        "ratio_min": round(min(ratios), 3),
        "ratio_max": round(max(ratios), 3),
        "target": TARGET,
        "meets_target": ratio >= TARGET,
        "bytes_codec": size_codec,
        "bytes_raw": size_raw,
        "machine": _machine(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "fastavro": fastavro.__version__,
    }


def _markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    verdict = "meets" if result["meets_target"] else "DOES NOT meet"
    return "\n".join(
        [
            "# Schemas benchmark: codec vs raw fastavro",
            "",
            f"{result['benchmark']}; `python -m bench.bench_schemas`, {result['measured_at']}.",
            "",
            "| side | records/s (median) | µs/record (median) |",
            "|---|---|---|",
            f"| baseline: {result['baseline']} | {result['baseline_records_per_s_median']:,} "
            f"| {result['baseline_us_per_record_median']} |",
            f"| codec: {result['candidate']} | {result['codec_records_per_s_median']:,} "
            f"| {result['codec_us_per_record_median']} |",
            "",
            f"**Ratio codec/baseline: {result['ratio_median']}** (median of {result['rounds']} "
            f"alternating rounds of {result['iterations_per_round']} records; min "
            f"{result['ratio_min']}, max {result['ratio_max']}) — {verdict} the target "
            f"{result['target']}.",
            "",
            f"Encoded size: {result['bytes_codec']} bytes with the 10-byte single-object header, "
            f"{result['bytes_raw']} bytes raw.",
            "",
            f"Machine: {m['cpu']}, {m['cpu_count']} cores (shared), load {m['load_average_1m']}; "
            f"{m['implementation']} {m['python']}, fastavro {m['fastavro']}, {m['platform']}.",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--iterations", type=int, default=3000)
    args = parser.parse_args(argv)
    result = run(args.rounds, args.iterations)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "schemas.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (RESULTS / "schemas.md").write_text(_markdown(result), encoding="utf-8")
    print(_markdown(result))
    return 0 if result["meets_target"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
