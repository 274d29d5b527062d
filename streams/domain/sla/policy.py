"""SLA policies and business schedules, loaded from YAML and validated as a whole.

An invalid file is rejected as a whole: :class:`PolicyError` lists every problem with its line
(PyYAML node marks) and the reason. Policies are ordered, the first whose conditions match a
ticket applies; schedules are chosen by their own ordered rules, with a default.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml

from schemas.records import Channel, Priority, SlaMetric
from streams.domain.calendar import Interval, Schedule, ScheduleError

DEFAULT_AUTO_CLOSE_DAYS = 4
MAX_AUTO_CLOSE_DAYS = 28
DEFAULT_POLICIES_PATH = Path(__file__).resolve().parents[3] / "config" / "sla" / "policies.yml"
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*(?:(\d+)\s*s)?\s*$")
_HHMM = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$")


class PolicyError(ValueError):
    """The policy file is invalid; ``problems`` holds ``(line, reason)`` pairs (1-based lines)."""

    def __init__(self, source: str, problems: list[tuple[int, str]]) -> None:
        self.problems = problems
        lines = "; ".join(f"{source}:{line}: {reason}" for line, reason in problems)
        super().__init__(f"SLA policy file rejected ({len(problems)} problem(s)): {lines}")


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """What policy and schedule conditions look at."""

    priority: Priority
    channel: Channel | None = None
    group: str | None = None
    tags: tuple[str, ...] = ()
    customer_tier: str | None = None
    brand: str | None = None


@dataclass(frozen=True, slots=True)
class Conditions:
    """All given conditions must hold (an empty one matches everything)."""

    priority: frozenset[Priority] = frozenset()
    channel: frozenset[Channel] = frozenset()
    group: frozenset[str] = frozenset()
    tags_any: frozenset[str] = frozenset()
    tags_all: frozenset[str] = frozenset()
    customer_tier: frozenset[str] = frozenset()
    brand: frozenset[str] = frozenset()

    def matches(self, t: TicketFacts) -> bool:
        """True when every non-empty condition holds for ``t``."""
        tags = set(t.tags)
        return (
            (not self.priority or t.priority in self.priority)
            and (not self.channel or t.channel in self.channel)
            and (not self.group or t.group in self.group)
            and (not self.tags_any or bool(self.tags_any & tags))
            and self.tags_all <= tags
            and (not self.customer_tier or t.customer_tier in self.customer_tier)
            and (not self.brand or t.brand in self.brand)
        )


@dataclass(frozen=True, slots=True)
class Target:
    seconds: int
    business_hours: bool


@dataclass(frozen=True, slots=True)
class Policy:
    policy_id: str
    conditions: Conditions
    targets: dict[SlaMetric, dict[Priority, Target]]
    warnings: tuple[int, ...] = (75, 90)  # percent of target, ascending
    internal_notes_update: bool = False  # periodic_update_time: internal notes count

    def target(self, metric: SlaMetric, priority: Priority) -> Target | None:
        """The target of ``metric`` at ``priority``, or None when the policy sets none."""
        return self.targets.get(metric, {}).get(priority)


@dataclass(frozen=True, slots=True)
class PolicySet:
    version: int
    policies: tuple[Policy, ...]
    schedules: dict[str, Schedule]
    schedule_rules: tuple[tuple[Conditions, str], ...]
    default_schedule: str
    auto_close_days: int = DEFAULT_AUTO_CLOSE_DAYS
    policies_yaml: str = field(default="", repr=False, compare=False)

    def policy_for(self, t: TicketFacts) -> Policy | None:
        """The first policy whose conditions match, or None."""
        return next((p for p in self.policies if p.conditions.matches(t)), None)

    def schedule_for(self, t: TicketFacts) -> Schedule:
        """The first matching schedule rule's schedule, else the default."""
        for cond, sid in self.schedule_rules:
            if cond.matches(t):
                return self.schedules[sid]
        return self.schedules[self.default_schedule]


# ---------------------------------------------------------------------- loading
class _Loader:
    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[tuple[int, str]] = []

    def err(self, node: yaml.Node, reason: str) -> None:
        self.problems.append((node.start_mark.line + 1, reason))

    def mapping(self, node: yaml.Node, what: str, allowed: Iterable[str]) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            self.err(node, f"{what} must be a mapping")
            return {}
        out: dict[str, yaml.Node] = {}
        allowed = set(allowed)
        for k, v in node.value:
            key = str(k.value)
            if allowed and key not in allowed:
                self.err(k, f"unknown key {key!r} in {what}; allowed: {', '.join(sorted(allowed))}")
            else:
                out[key] = v
        return out

    def seq(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        if isinstance(node, yaml.ScalarNode):
            return [node]
        if not isinstance(node, yaml.SequenceNode):
            self.err(node, f"{what} must be a list")
            return []
        return list(node.value)

    def scalar(self, node: yaml.Node, what: str) -> str | None:
        if not isinstance(node, yaml.ScalarNode):
            self.err(node, f"{what} must be a single value")
            return None
        return str(node.value)

    def integer(self, node: yaml.Node, what: str, lo: int, hi: int) -> int | None:
        s = self.scalar(node, what)
        if s is None:
            return None
        if not re.fullmatch(r"\d+", s) or not lo <= int(s) <= hi:
            self.err(node, f"{what} must be an integer {lo}..{hi}, got {s!r}")
            return None
        return int(s)

    def duration(self, node: yaml.Node, what: str) -> int | None:
        s = self.scalar(node, what)
        if s is None:
            return None
        if re.fullmatch(r"\d+", s):
            seconds = int(s) * 60  # bare numbers are minutes (as Zendesk's API)
        else:
            m = _DURATION.match(s)
            if not m or not any(m.groups()):
                self.err(node, f"{what}: {s!r} is not a duration like 90m, 2h, 1h30m, 3d")
                return None
            d, h, mi, se = (int(g or 0) for g in m.groups())
            seconds = ((d * 24 + h) * 60 + mi) * 60 + se
        if seconds <= 0:
            self.err(node, f"{what} must be positive")
            return None
        return seconds

    def boolean(self, node: yaml.Node, what: str) -> bool | None:
        s = self.scalar(node, what)
        if s is None:
            return None
        if s.lower() in ("true", "yes", "on"):
            return True
        if s.lower() in ("false", "no", "off"):
            return False
        self.err(node, f"{what} must be true or false, got {s!r}")
        return None

    def enum_set(
        self, node: yaml.Node, what: str, enum: type[Priority] | type[Channel]
    ) -> frozenset[Priority] | frozenset[Channel]:
        out = set()
        for n in self.seq(node, what):
            s = self.scalar(n, what)
            if s is None:
                continue
            try:
                out.add(enum(s))
            except ValueError:
                self.err(n, f"{what}: {s!r} is not one of {', '.join(e.value for e in enum)}")
        return frozenset(out)  # type: ignore[return-value]

    def str_set(self, node: yaml.Node, what: str) -> frozenset[str]:
        return frozenset(s for n in self.seq(node, what) if (s := self.scalar(n, what)) is not None)

    def conditions(self, node: yaml.Node, what: str) -> Conditions:
        keys = ("priority", "channel", "group", "tags_any", "tags_all", "customer_tier", "brand")
        m = self.mapping(node, what, keys)
        return Conditions(
            priority=self.enum_set(m["priority"], f"{what}.priority", Priority)
            if "priority" in m
            else frozenset(),  # type: ignore[arg-type]
            channel=self.enum_set(m["channel"], f"{what}.channel", Channel)
            if "channel" in m
            else frozenset(),  # type: ignore[arg-type]
            group=self.str_set(m["group"], f"{what}.group") if "group" in m else frozenset(),
            tags_any=self.str_set(m["tags_any"], f"{what}.tags_any")
            if "tags_any" in m
            else frozenset(),
            tags_all=self.str_set(m["tags_all"], f"{what}.tags_all")
            if "tags_all" in m
            else frozenset(),
            customer_tier=self.str_set(m["customer_tier"], f"{what}.customer_tier")
            if "customer_tier" in m
            else frozenset(),
            brand=self.str_set(m["brand"], f"{what}.brand") if "brand" in m else frozenset(),
        )

    def intervals(self, node: yaml.Node, what: str) -> tuple[Interval, ...]:
        out: list[Interval] = []
        for n in self.seq(node, what):
            s = self.scalar(n, what)
            m = _HHMM.match(s or "")
            if not m:
                self.err(n, f"{what}: {s!r} is not an interval like 09:00-18:00")
                continue
            h1, m1, h2, m2 = (int(g) for g in m.groups())
            a, b = h1 * 60 + m1, h2 * 60 + m2
            if m1 > 59 or m2 > 59 or not 0 <= a < b <= 1440:
                self.err(n, f"{what}: {s!r} must run forward within 00:00-24:00")
                continue
            out.append((a, b))
        return tuple(out)

    def date_(self, node: yaml.Node, what: str) -> date | None:
        s = self.scalar(node, what)
        try:
            return date.fromisoformat(s or "")
        except ValueError:
            self.err(node, f"{what}: {s!r} is not a date YYYY-MM-DD")
            return None

    def schedule(self, sid: str, node: yaml.Node) -> Schedule | None:
        what = f"schedule {sid}"
        m = self.mapping(node, what, ("zone", "hours", "holidays", "closed", "partial"))
        before = len(self.problems)
        zone = self.scalar(m["zone"], f"{what}.zone") if "zone" in m else None
        if zone is None:
            self.err(node, f"{what}: zone is required (an IANA name like Asia/Bangkok)")
        weekly: dict[int, tuple[Interval, ...]] = {}
        if "hours" not in m:
            self.err(node, f"{what}: hours are required")
        else:
            for day, ivs in self.mapping(m["hours"], f"{what}.hours", _WEEKDAYS).items():
                weekly[_WEEKDAYS.index(day)] = self.intervals(ivs, f"{what}.hours.{day}")
        country = subdiv = None
        if "holidays" in m:
            h = self.mapping(m["holidays"], f"{what}.holidays", ("country", "subdiv"))
            country = (
                self.scalar(h["country"], f"{what}.holidays.country") if "country" in h else None
            )
            subdiv = self.scalar(h["subdiv"], f"{what}.holidays.subdiv") if "subdiv" in h else None
        closed = (
            {
                d
                for n in self.seq(m["closed"], f"{what}.closed")
                if (d := self.date_(n, f"{what}.closed"))
            }
            if "closed" in m
            else set()
        )
        partial: dict[date, tuple[Interval, ...]] = {}
        if "partial" in m and isinstance(m["partial"], yaml.MappingNode):
            for k, v in m["partial"].value:
                d = self.date_(k, f"{what}.partial")
                if d is not None:
                    partial[d] = self.intervals(v, f"{what}.partial.{d}")
        elif "partial" in m:
            self.err(m["partial"], f"{what}.partial must map dates to intervals")
        if len(self.problems) > before or zone is None:
            return None
        try:
            return Schedule(sid, zone, weekly, country, subdiv, frozenset(closed), partial)
        except ScheduleError as exc:
            self.err(node, str(exc))
            return None

    def targets(self, node: yaml.Node, what: str) -> dict[SlaMetric, dict[Priority, Target]]:
        out: dict[SlaMetric, dict[Priority, Target]] = {}
        for k, v in node.value if isinstance(node, yaml.MappingNode) else []:
            try:
                metric = SlaMetric(str(k.value))
            except ValueError:
                self.err(
                    k,
                    f"{what}: {k.value!r} is not a metric ({', '.join(x.value for x in SlaMetric)})",
                )
                continue
            keys = [p.value for p in Priority] + ["business_hours"]
            mm = self.mapping(v, f"{what}.{metric.value}", keys)
            business = (
                self.boolean(mm["business_hours"], f"{what}.{metric.value}.business_hours")
                if "business_hours" in mm
                else True
            )
            per: dict[Priority, Target] = {}
            for p in Priority:
                if p.value in mm:
                    secs = self.duration(mm[p.value], f"{what}.{metric.value}.{p.value}")
                    if secs is not None:
                        per[p] = Target(secs, business is not False)
            out[metric] = per
        if not isinstance(node, yaml.MappingNode):
            self.err(node, f"{what} must map metrics to per-priority targets")
        return out

    def policy(self, node: yaml.Node, index: int, seen: set[str]) -> Policy | None:
        what = f"policies[{index}]"
        m = self.mapping(node, what, ("id", "when", "targets", "warnings", "internal_notes_update"))
        pid = self.scalar(m["id"], f"{what}.id") if "id" in m else None
        if pid is None:
            self.err(node, f"{what}: id is required")
            return None
        if pid in seen:
            self.err(m["id"], f"{what}: duplicate policy id {pid!r}")
        seen.add(pid)
        what = f"policy {pid}"
        warnings: list[int] = []
        if "warnings" in m:
            for n in self.seq(m["warnings"], f"{what}.warnings"):
                w = self.integer(n, f"{what}.warnings", 1, 99)
                if w is not None:
                    warnings.append(w)
        if "targets" not in m:
            self.err(node, f"{what}: targets are required")
        return Policy(
            pid,
            self.conditions(m["when"], f"{what}.when") if "when" in m else Conditions(),
            self.targets(m["targets"], f"{what}.targets") if "targets" in m else {},
            tuple(sorted(set(warnings))) if "warnings" in m else (75, 90),
            bool(self.boolean(m["internal_notes_update"], f"{what}.internal_notes_update"))
            if "internal_notes_update" in m
            else False,
        )


def parse_policies(text: str, *, version: int = 1, source: str = "<policies>") -> PolicySet:
    """Parse and validate a policy file; raises :class:`PolicyError` listing every problem."""
    ld = _Loader(source)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise PolicyError(
            source,
            [((mark.line + 1) if mark else 1, f"not valid YAML: {getattr(exc, 'problem', exc)}")],
        ) from exc
    if root is None:
        raise PolicyError(source, [(1, "the file is empty")])
    top = ld.mapping(
        root,
        "the file",
        ("auto_close_days", "schedules", "schedule_rules", "default_schedule", "policies"),
    )
    auto_close = (
        ld.integer(top["auto_close_days"], "auto_close_days", 1, MAX_AUTO_CLOSE_DAYS)
        if "auto_close_days" in top
        else DEFAULT_AUTO_CLOSE_DAYS
    )
    schedules: dict[str, Schedule] = {}
    if "schedules" not in top:
        ld.err(root, "schedules are required (at least one)")
    else:
        for sid, node in ld.mapping(top["schedules"], "schedules", ()).items():
            s = ld.schedule(sid, node)
            if s is not None:
                schedules[sid] = s
    default = (
        ld.scalar(top["default_schedule"], "default_schedule")
        if "default_schedule" in top
        else None
    )
    if default is None:
        ld.err(root, "default_schedule is required")
    elif "schedules" in top and default not in ld.mapping(top["schedules"], "schedules", ()):
        ld.err(top["default_schedule"], f"default_schedule {default!r} is not a defined schedule")
    rules: list[tuple[Conditions, str]] = []
    for i, n in enumerate(
        ld.seq(top["schedule_rules"], "schedule_rules") if "schedule_rules" in top else []
    ):
        rm = ld.mapping(n, f"schedule_rules[{i}]", ("when", "schedule"))
        rule_sid = (
            ld.scalar(rm["schedule"], f"schedule_rules[{i}].schedule") if "schedule" in rm else None
        )
        if rule_sid is None or (
            "schedules" in top and rule_sid not in ld.mapping(top["schedules"], "schedules", ())
        ):
            ld.err(
                rm.get("schedule", n),
                f"schedule_rules[{i}]: schedule {rule_sid!r} is not a defined schedule",
            )
            continue
        rules.append(
            (
                ld.conditions(rm["when"], f"schedule_rules[{i}].when")
                if "when" in rm
                else Conditions(),
                rule_sid,
            )
        )
    policies: list[Policy] = []
    seen: set[str] = set()
    for i, n in enumerate(ld.seq(top["policies"], "policies") if "policies" in top else []):
        p = ld.policy(n, i, seen)
        if p is not None:
            policies.append(p)
    if ld.problems:
        raise PolicyError(source, sorted(ld.problems))
    assert default is not None and auto_close is not None
    return PolicySet(version, tuple(policies), schedules, tuple(rules), default, auto_close, text)


def load_policies(path: Path = DEFAULT_POLICIES_PATH, *, version: int = 1) -> PolicySet:
    """Read and validate the policy file at ``path`` (see :func:`parse_policies`)."""
    return parse_policies(path.read_text(encoding="utf-8"), version=version, source=str(path))
