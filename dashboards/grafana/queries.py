"""Read the panel and variable queries back out of the committed dashboard JSON, and expand
Grafana's variables and macros the way Grafana would, so tests run exactly what Grafana runs."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

DASHBOARDS = Path(__file__).resolve().parent / "dashboards"


@dataclass(frozen=True, slots=True)
class PanelQuery:
    dashboard: str
    panel: str
    ref_id: str
    datasource: str  # "prometheus" | "grafana-clickhouse-datasource"
    text: str


def panel_queries(dashboards_dir: Path = DASHBOARDS) -> Iterator[PanelQuery]:
    for path in sorted(dashboards_dir.glob("*.json")):
        dash = json.loads(path.read_text())
        for panel in dash["panels"]:
            for target in panel.get("targets", []):
                text = target.get("expr") or target.get("rawSql")
                yield PanelQuery(
                    dash["uid"], panel["title"], target["refId"], target["datasource"]["type"], text
                )


def variable_queries(dashboards_dir: Path = DASHBOARDS) -> Iterator[PanelQuery]:
    for path in sorted(dashboards_dir.glob("*.json")):
        dash = json.loads(path.read_text())
        for var in dash.get("templating", {}).get("list", []):
            yield PanelQuery(
                dash["uid"], f"${var['name']}", "var", var["datasource"]["type"], var["query"]
            )


def metric_names(promql: str) -> set[str]:
    """Metric names a PromQL expression selects (histogram series mapped to their family)."""
    names = set(re.findall(r"\b(ticketstream_[a-z0-9_]+)", promql))
    if re.search(r"\bup\{", promql):
        names.add("up")
    return {re.sub(r"_(bucket|sum|count)$", "", n) if n.endswith("_bucket") else n for n in names}


def expand_promql(expr: str, variables: Mapping[str, str], rate_interval: str = "1m") -> str:
    out = expr.replace("$__rate_interval", rate_interval)
    for name, value in variables.items():
        out = out.replace(f"${name}", value)
    return out


def expand_clickhouse(
    sql: str, variables: Mapping[str, list[str]], time_from: int, time_to: int
) -> str:
    """Expand ``${var:singlequote}`` and ``$__timeFilter(col)`` (unix seconds)."""

    def quote(values: list[str]) -> str:
        return ", ".join("'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'" for v in values)

    out = sql
    for name, values in variables.items():
        out = out.replace(f"${{{name}:singlequote}}", quote(values))
    out = re.sub(
        r"\$__timeFilter\(([^)]+)\)",
        lambda m: (
            f"{m.group(1)} >= toDateTime({time_from}) AND {m.group(1)} <= toDateTime({time_to})"
        ),
        out,
    )
    assert "$" not in out, f"unexpanded Grafana variable in {out}"
    return out
