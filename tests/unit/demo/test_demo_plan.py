"""The demo's plan (pure parts): child-process command lines, settings they get, the ground
truth's mapping into the report's expectations."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

from connectors.settings import ConnectorSettings
from ticketstream.cli import build_parser
from ticketstream.demo.run import Secrets, endpoints_of, expected_of, plan_services, settings_env
from ticketstream.settings import ENV_PREFIX, Settings

SETTINGS = Settings.model_construct(  # defaults, with the ports a private stack would pick
    **{**Settings.model_construct().__dict__, "gateway_port": 18080, "worker_web_port": 16066,
       "projector_metrics_port": 19465}
)  # fmt: skip


def test_every_service_command_is_a_real_subcommand() -> None:
    parser = build_parser()
    services = plan_services(SETTINGS, Path("/tmp/run"), {}, workers=2, worker_ports=[16066, 16067])
    assert [s.name for s in services] == [
        "projector",
        "worker-1",
        "worker-2",
        "outbound",
        "gateway",
    ]
    for s in services:
        args = parser.parse_args(s.argv)
        assert callable(args.func), s.argv
    assert services[-1].argv == ["gateway", "serve", "--port", "18080"]


def test_workers_get_their_own_port_and_data_dir() -> None:
    services = plan_services(
        SETTINGS, Path("/tmp/run"), {"X": "1"}, workers=2, worker_ports=[16066, 16067]
    )
    w1, w2 = services[1], services[2]
    assert (w1.env[ENV_PREFIX + "WORKER_WEB_PORT"], w2.env[ENV_PREFIX + "WORKER_WEB_PORT"]) == (
        "16066", "16067",
    )  # fmt: skip
    assert w1.env[ENV_PREFIX + "STREAMS_DATADIR"] != w2.env[ENV_PREFIX + "STREAMS_DATADIR"]
    assert w1.env["X"] == "1" and w1.ready_url == "http://127.0.0.1:16066/metrics"


def test_secrets_are_connector_settings_and_point_replies_at_the_stand_in() -> None:
    keys = Secrets.generate()
    env = keys.env("http://127.0.0.1:5555")
    fields = {k[len(ENV_PREFIX) :].lower(): v for k, v in env.items()}
    assert set(fields) <= set(ConnectorSettings.model_fields)
    cs = ConnectorSettings.model_validate(fields)
    assert cs.line_channel_secret.get_secret_value() == keys.line
    for base in ("line_api_base", "graph_api_base", "telegram_api_base", "dingtalk_api_base",
                 "wechat_api_base"):  # fmt: skip
        assert getattr(cs, base) == "http://127.0.0.1:5555"
    assert len({keys.line, keys.meta, keys.telegram, keys.api, keys.api_token}) == 5


def test_settings_env_names_every_setting_with_the_prefix() -> None:
    env = settings_env(SETTINGS)
    assert env[ENV_PREFIX + "GATEWAY_PORT"] == "18080"
    assert all(k.startswith(ENV_PREFIX) and k.isupper() for k in env)


def test_endpoints_name_each_metrics_page_prometheus_and_clickhouse() -> None:
    names = [e.name for e in endpoints_of(SETTINGS, [16066, 16067])]
    assert names == [
        "gateway /metrics", "worker-1 /metrics", "worker-2 /metrics", "projector /metrics",
        "Prometheus", "ClickHouse (SQL, read-only)",
    ]  # fmt: skip


def test_expected_comes_from_the_ground_truth() -> None:
    start, end = datetime(2026, 11, 15, 17, tzinfo=UTC), datetime(2026, 11, 16, 17, tzinfo=UTC)
    truth = SimpleNamespace(
        tickets_opened=7,
        tickets_by_channel={"line": 5, "wechat": 2},
        messages_sent=20,
        breaches={
            "first_reply_time": {"urgent": 1, "low": 0},
            "total_resolution_time": {"high": 2},
        },
        sim_start=start,
        sim_end=end,
    )
    e = expected_of(truth)
    assert (e.tickets, dict(e.tickets_by_channel), e.messages) == (7, {"line": 5, "wechat": 2}, 20)
    assert dict(e.breaches) == {
        ("first_reply_time", "urgent"): 1,
        ("first_reply_time", "low"): 0,
        ("total_resolution_time", "high"): 2,
    }
    assert (e.start, e.end) == (start, end)


def test_outbound_metrics_port_is_the_one_given_not_the_fixed_default() -> None:
    services = plan_services(
        SETTINGS, Path("/tmp/run"), {}, workers=1, worker_ports=[16066], outbound_port=23456
    )
    outbound = next(s for s in services if s.name == "outbound")
    assert outbound.env[ENV_PREFIX + "OUTBOUND_METRICS_PORT"] == "23456"
    picked = next(
        s
        for s in plan_services(SETTINGS, Path("/tmp/run"), {}, workers=1, worker_ports=[16066])
        if s.name == "outbound"
    )
    assert (
        picked.env[ENV_PREFIX + "OUTBOUND_METRICS_PORT"] != "9467"
    )  # the default, taken by any other run
