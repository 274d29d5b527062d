"""Build the Grafana dashboards from dashboards/grafana/{sre,analysts}.py with Grafana's
foundation SDK and write them under dashboards/grafana/dashboards/ (provisioned by
docker-compose through provisioning/dashboards/ticketstream.yml).

    python -m dashboards.grafana.build          # rewrite the JSON
    python -m dashboards.grafana.build --check  # exit 1 if the committed JSON is out of date
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import barchart, stat, table, timeseries
from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import prometheus as gp
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as gm

from dashboards.generated import write_or_check
from dashboards.grafana.spec import DashboardSpec, Panel, Query

OUT_DIR = Path(__file__).resolve().parent / "dashboards"

# Datasource uids as provisioned in provisioning/datasources/ticketstream.yml.
PROMETHEUS = gm.DataSourceRef(type_val="prometheus", uid="prometheus")
CLICKHOUSE = gm.DataSourceRef(type_val="grafana-clickhouse-datasource", uid="clickhouse")


class ClickHouseQuery(cogvariants.Dataquery):
    """A raw-SQL target of the official grafana-clickhouse-datasource plugin (v4 shape:
    editorType sql, queryType table|timeSeries, format 1=table/0=time series)."""

    def __init__(self, ref_id: str, sql: str, time_series: bool) -> None:
        self.ref_id, self.sql, self.time_series = ref_id, sql, time_series

    def to_json(self) -> dict[str, object]:
        return {
            "datasource": {"type": CLICKHOUSE.type_val, "uid": CLICKHOUSE.uid},
            "editorType": "sql",
            "format": 0 if self.time_series else 1,
            "queryType": "timeSeries" if self.time_series else "table",
            "rawSql": self.sql,
            "refId": self.ref_id,
        }


class ClickHouseQueryBuilder(cogbuilder.Builder[cogvariants.Dataquery]):
    def __init__(self, ref_id: str, query: Query) -> None:
        self._q = ClickHouseQuery(ref_id, query.text, query.time_series)

    def build(self) -> cogvariants.Dataquery:
        return self._q


def _target(spec: DashboardSpec, i: int, q: Query) -> cogbuilder.Builder[Any]:
    ref = chr(ord("A") + i)
    if spec.datasource == "prometheus":
        t = gp.Dataquery().expr(q.text).ref_id(ref).datasource(PROMETHEUS)
        return t.legend_format(q.legend) if q.legend else t
    return ClickHouseQueryBuilder(ref, q)


def _panel(spec: DashboardSpec, p: Panel) -> cogbuilder.Builder[gm.Panel]:
    builder: Any
    if p.kind == "stat":
        builder = stat.Panel()
    elif p.kind == "table":
        builder = table.Panel()
    elif p.kind == "barchart":
        builder = barchart.Panel()
    else:
        builder = timeseries.Panel().fill_opacity(10)
    builder = (
        builder.title(p.title)
        .description(p.description)
        .datasource(PROMETHEUS if spec.datasource == "prometheus" else CLICKHOUSE)
        .unit(p.unit)
        .span(p.width)
        .height(p.height)
    )
    for i, q in enumerate(p.queries):
        builder = builder.with_target(_target(spec, i, q))
    return builder  # type: ignore[no-any-return]


def _variable(spec: DashboardSpec, v: Any) -> cogbuilder.Builder[gm.VariableModel]:
    var = (
        gd.QueryVariable(v.name)
        .label(v.label)
        .query(v.query)
        .datasource(PROMETHEUS if spec.datasource == "prometheus" else CLICKHOUSE)
        .refresh(gm.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(gm.VariableSort.ALPHABETICAL_ASC)
        .multi(v.multi)
        .include_all(v.multi)
    )
    if v.multi and spec.datasource == "prometheus":
        var = var.all_value(".*")  # the panels match with =~"$var"
    return var


def build(spec: DashboardSpec) -> dict[str, Any]:
    """The dashboard as a JSON-ready dict."""
    d = (
        gd.Dashboard(spec.title)
        .uid(spec.uid)
        .description(spec.description)
        .tags(list(spec.tags))
        .time(spec.time_from, "now")
        .refresh("1m")
        .timezone("browser")
        .readonly()
    )
    for v in spec.variables:
        d = d.with_variable(_variable(spec, v))
    for row in spec.rows:
        d = d.with_row(gd.Row(row.title))
        for p in row.panels:
            d = d.with_panel(_panel(spec, p))
    out: dict[str, Any] = json.loads(json.dumps(d.build(), cls=JSONEncoder))
    return out


def specs() -> list[DashboardSpec]:
    from dashboards.grafana.analysts import ANALYSTS
    from dashboards.grafana.sre import SRE

    return [SRE, ANALYSTS]


def rendered() -> dict[Path, str]:
    return {
        OUT_DIR / f"{s.uid}.json": json.dumps(build(s), indent=2, sort_keys=True) + "\n"
        for s in specs()
    }


DOC = Path(__file__).resolve().parents[2] / "docs" / "dashboards.md"
BEGIN, END = "<!-- panels:begin -->", "<!-- panels:end -->"


def panels_markdown() -> str:
    """Every dashboard's rows and panels with what they show (for docs/dashboards.md)."""
    lines = []
    for s in specs():
        src = "Prometheus" if s.datasource == "prometheus" else "ClickHouse"
        lines += [f"### {s.title} (`{s.uid}`, {src})", "", s.description, ""]
        if s.variables:
            names = ", ".join(f"`${v.name}`" for v in s.variables)
            lines += [f"Variables: {names}.", ""]
        lines += ["| row | panel | shows |", "|---|---|---|"]
        for row in s.rows:
            for p in row.panels:
                lines.append(f"| {row.title} | {p.title} | {p.description} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def render_doc(text: str) -> str:
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{panels_markdown()}{END}{tail}"


def _files() -> dict[Path, str]:
    files = rendered()
    if DOC.exists():
        files[DOC] = render_doc(DOC.read_text())
    return files


def main(argv: list[str] | None = None) -> int:
    return write_or_check(
        __doc__.splitlines()[0], _files, "python -m dashboards.grafana.build", argv
    )


if __name__ == "__main__":
    sys.exit(main())
