"""Policy file loading: first match wins, schedules by rules, whole-file rejection with lines."""

from __future__ import annotations

import pytest

from schemas.records import Channel, Priority, SlaMetric
from streams.domain.sla.policy import (
    PolicyError,
    Target,
    TicketFacts,
    load_policies,
    parse_policies,
)

GOOD = """\
auto_close_days: 7
schedules:
  bkk:
    zone: Asia/Bangkok
    hours: {mon: ["09:00-18:00"], fri: ["09:00-12:00", "13:00-18:00"]}
    holidays: {country: TH}
  hk:
    zone: Asia/Hong_Kong
    hours: {mon: ["09:00-18:00"]}
default_schedule: bkk
schedule_rules:
  - when: {group: [hk]}
    schedule: hk
policies:
  - id: vip-chat
    when: {customer_tier: [vip], channel: [line, webchat]}
    warnings: [90, 75]
    targets:
      first_reply_time: {urgent: 30m, normal: 1h30m}
  - id: catch-all
    targets:
      total_resolution_time: {business_hours: false, urgent: 2d}
      first_reply_time: {urgent: 60}
"""


def test_first_matching_policy_applies() -> None:
    ps = parse_policies(GOOD)
    vip = TicketFacts(Priority.URGENT, Channel.LINE, customer_tier="vip")
    other = TicketFacts(Priority.URGENT, Channel.EMAIL, customer_tier="vip")
    assert ps.policy_for(vip).policy_id == "vip-chat"  # type: ignore[union-attr]
    assert ps.policy_for(other).policy_id == "catch-all"  # type: ignore[union-attr]
    p = ps.policy_for(vip)
    assert p is not None and p.warnings == (75, 90)
    assert p.target(SlaMetric.FIRST_REPLY_TIME, Priority.NORMAL) == Target(5400, True)
    assert p.target(SlaMetric.FIRST_REPLY_TIME, Priority.LOW) is None
    catch = ps.policies[1]
    assert catch.target(SlaMetric.TOTAL_RESOLUTION_TIME, Priority.URGENT) == Target(172800, False)
    assert catch.target(SlaMetric.FIRST_REPLY_TIME, Priority.URGENT) == Target(3600, True)
    assert ps.auto_close_days == 7


def test_schedule_chosen_by_rule_else_default() -> None:
    ps = parse_policies(GOOD)
    assert ps.schedule_for(TicketFacts(Priority.LOW, group="hk")).schedule_id == "hk"
    assert ps.schedule_for(TicketFacts(Priority.LOW, group="x")).schedule_id == "bkk"


def test_invalid_file_is_rejected_whole_with_lines_and_reasons() -> None:
    bad = (
        GOOD.replace("auto_close_days: 7", "auto_close_days: 29")
        .replace("urgent: 30m", "urgent: soon")
        .replace("channel: [line, webchat]", "channel: [line, fax]")
        .replace("schedule: hk", "schedule: nowhere")
    )
    with pytest.raises(PolicyError) as info:
        parse_policies(bad, source="policies.yml")
    lines = dict(info.value.problems)
    assert "auto_close_days must be an integer 1..28" in lines[1]
    assert "schedule 'nowhere' is not a defined schedule" in lines[13]
    assert "'fax' is not one of" in lines[16]
    assert "'soon' is not a duration" in lines[19]
    assert str(info.value).startswith("SLA policy file rejected (4 problem(s)): policies.yml:1:")


def test_yaml_syntax_error_names_the_line() -> None:
    with pytest.raises(PolicyError) as info:
        parse_policies("schedules:\n  a: [\n")
    assert info.value.problems[0][0] == 3


def test_shipped_policy_file_is_valid() -> None:
    ps = load_policies()
    assert [p.policy_id for p in ps.policies] == ["vip", "standard"]
    assert ps.auto_close_days == 4
