"""统计: what an observer party (e.g. 四川省委组织部) may know of the members its contracts
cover: aggregates only, never a person. Members by contact status and by region, the monthly
participation rate in organisation life and check-in rate per branch, and the contracts'
obligations met, due and overdue, each as a chart drawn on the server (console.charts) with
its table beside it.

Every figure comes from the hub's `statistics` query as the hub published it: a cell the hub
suppressed (fewer people than its minimum, or a complement protecting one) is shown as
"*" (a count: a cell withheld to protect a small neighbour may itself be large, so never
"<5") or "—" (a rate), never as a number; the page computes no figure of its own
from the cells, so nothing withheld can be given back by subtraction here either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from console.charts import Bar, Series, bar_chart, format_value, line_chart
from console.chinatime import CST
from console.hub import HubAnswer
from console.sessions import Session
from console.web import Page, hub_of, render, require_official

__all__ = ["PAGE", "ROUTES", "Table", "Cell"]

PAGE = Page("stats", "统计", "/stats", frozenset({"observer"}))

TOTAL = "*"
#: cells per page asked of the hub (its maximum page size by default)
PAGE_CELLS = 100
#: at most this many pages of one table (a province's tables fit many times over)
MAX_PAGES = 30

_CELLS = "totalCount minCount pageInfo { hasNextPage endCursor } " \
         "nodes { row rowName column count value suppressed total }"

#: the four tables in one request (aliases), and the contracts' titles for the obligations
STATISTICS = f"""
query ConsoleStatistics($year: Int!, $groupBy: StatisticDimension!, $first: Int) {{
  members: statistics(measure: MEMBERS_BY_STATUS, groupBy: $groupBy, first: $first) {{ {_CELLS} }}
  participation: statistics(measure: PARTICIPATION_RATE, year: $year, first: $first) {{ {_CELLS} }}
  checkins: statistics(measure: CHECKIN_RATE, year: $year, first: $first) {{ {_CELLS} }}
  obligations: statistics(measure: OBLIGATIONS, year: $year, first: $first) {{ {_CELLS} }}
  contracts {{ id title }}
}}
"""

#: the next page of one table
MORE = f"""
query ConsoleStatisticsMore($measure: StatisticMeasure!, $year: Int!,
                            $groupBy: StatisticDimension!, $first: Int, $after: String) {{
  statistics(measure: $measure, year: $year, groupBy: $groupBy, first: $first,
             after: $after) {{ {_CELLS} }}
}}
"""

_MEASURES = {"members": "MEMBERS_BY_STATUS", "participation": "PARTICIPATION_RATE",
             "checkins": "CHECKIN_RATE", "obligations": "OBLIGATIONS"}

#: the region a member is counted in: where the membership is, or where they live and work
DIMENSIONS = {"origin": ("ORIGIN_REGION", "流出地"), "destination": ("DESTINATION_REGION",
                                                                     "流入地")}
STATUSES = {"in_contact": "正常联系", "lost_contact": "失联", "returned": "已返乡",
            "transferred_out": "已转出", "unknown": "状态不明"}
OBLIGATION_STATES = {"fulfilled": "已履行", "due": "待履行", "overdue": "逾期未履行"}


@dataclass(frozen=True)
class Cell:
    """One published cell as the page prints it."""

    text: str
    suppressed: bool = False
    #: what the hub sent (None: suppressed or absent), for the data-* attributes tests read
    count: int | None = None
    value: float | None = None


@dataclass
class Table:
    """A table of the hub's cells: rows (code, name) by columns (key, heading), margins
    (row or column "*") where the hub published them."""

    rows: list[tuple[str, str]] = field(default_factory=list)
    columns: list[tuple[str, str]] = field(default_factory=list)
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)
    has_total_row: bool = False

    def cell(self, row: str, column: str) -> Cell:
        return self.cells.get((row, column), Cell(""))


def _this_year() -> int:
    return datetime.now(CST).year


def _year(request: Request) -> tuple[int, str | None]:
    text = request.query_params.get("year", "").strip()
    if not text:
        return _this_year(), None
    if not text.isdigit() or not 2000 <= int(text) <= 2100:
        return _this_year(), "年度应为 2000 至 2100 之间的四位数字。"
    return int(text), None


def _count_text(node: dict[str, Any], min_count: int) -> Cell:
    if node.get("suppressed"):
        # "*", not "<5": a cell withheld to protect a small neighbour may be large itself
        return Cell("*", True)
    count = node.get("count")
    return Cell("" if count is None else str(count), False, count)


def _rate_text(node: dict[str, Any]) -> Cell:
    if node.get("suppressed"):
        return Cell("—", True)
    value, count = node.get("value"), node.get("count")
    if value is None:
        return Cell("", False, count)
    return Cell(format_value(float(value), percent=True), False, count, float(value))


def _members_table(nodes: list[dict[str, Any]], min_count: int) -> Table:
    table = Table()
    seen_rows: dict[str, str] = {}
    seen_columns: set[str] = set()  # the statuses present
    for n in nodes:
        if n["row"] != TOTAL:
            seen_rows.setdefault(n["row"], n.get("rowName") or n["row"])
        else:
            table.has_total_row = True
        if n["column"] != TOTAL:
            seen_columns.add(str(n["column"]))
        table.cells[(n["row"], n["column"])] = _count_text(n, min_count)
    # the hub sends no cell for a status nobody in a row has: that is 0, not withheld
    for row in [*seen_rows, TOTAL]:
        for column in [*seen_columns, TOTAL]:
            table.cells.setdefault((row, column), Cell("0", False, 0))
    order = [s for s in STATUSES if s in seen_columns] + sorted(seen_columns - set(STATUSES))
    table.columns = [(c, STATUSES.get(c) or c) for c in order] + [(TOTAL, "合计")]
    table.rows = sorted(seen_rows.items(), key=lambda kv: kv[0])
    return table


def _months(year: int) -> list[str]:
    now = datetime.now(CST)
    last = now.month if year == now.year else (0 if year > now.year else 12)
    return [f"{year}-{m:02d}" for m in range(1, last + 1)]


def _rate_table(nodes: list[dict[str, Any]], year: int) -> Table:
    table = Table()
    names: dict[str, str] = {}
    for n in nodes:
        if n["row"] != TOTAL:
            names.setdefault(n["row"], n.get("rowName") or n["row"])
        table.cells[(n["row"], n["column"])] = _rate_text(n)
    months = _months(year)
    extra = sorted({n["column"] for n in nodes} - set(months) - {TOTAL})
    table.columns = [(m, f"{int(m[5:])}月") for m in [*months, *extra]] + [(TOTAL, "全年")]
    table.rows = sorted(names.items(), key=lambda kv: kv[0])
    return table


def _obligations_table(nodes: list[dict[str, Any]], titles: dict[str, str]) -> Table:
    table = Table()
    seen: dict[str, str] = {}
    for n in nodes:
        if n["row"] == TOTAL:
            table.has_total_row = True
        else:
            seen.setdefault(n["row"], titles.get(n["row"], n["row"]))
        table.cells[(n["row"], n["column"])] = _count_text(n, 0)
    states: set[str] = {str(n["column"]) for n in nodes} - {TOTAL}
    for row in [*seen, TOTAL]:
        for column in [*states, TOTAL]:
            table.cells.setdefault((row, column), Cell("0", False, 0))
    order = [s for s in OBLIGATION_STATES if s in states] + sorted(states - set(OBLIGATION_STATES))
    table.columns = [(s, OBLIGATION_STATES.get(s) or s) for s in order] + [(TOTAL, "合计")]
    table.rows = sorted(seen.items(), key=lambda kv: kv[1])
    return table


def _bars(table: Table, pairs: list[tuple[str, str]], *, row: str | None = None,
          column: str | None = None) -> list[Bar]:
    """Bars along one line of `table`: its total row (`row`="*") or total column."""
    bars = []
    for key, label in pairs:
        cell = table.cell(row if row is not None else key, column if column is not None else key)
        bars.append(Bar(label, None if cell.suppressed or cell.count is None
                        else float(cell.count), cell.suppressed))
    return bars


def _series(table: Table) -> tuple[list[str], list[Series]]:
    months = [c for c in table.columns if c[0] != TOTAL]
    series = []
    for code, name in table.rows:
        cells = [table.cell(code, m) for m, _ in months]
        series.append(Series(name, [c.value for c in cells], [c.suppressed for c in cells]))
    return [label for _, label in months], series


async def _all_cells(request: Request, session: Session, year: int, group_by: str
                     ) -> tuple[dict[str, dict[str, Any]], dict[str, str], tuple[str, ...]]:
    """Every cell of the four tables (later pages asked for as needed), the contracts'
    titles, and the warnings of a partial answer."""
    hub = hub_of(request)
    variables = {"year": year, "groupBy": group_by, "first": PAGE_CELLS}
    answer: HubAnswer = await hub.page_data(session.official, PAGE.slug, STATISTICS, variables)
    warnings = list(answer.warnings)
    tables: dict[str, dict[str, Any]] = {}
    for alias, measure in _MEASURES.items():
        table = answer.data.get(alias)
        if table is None:
            continue
        nodes = list(table["nodes"])
        info, pages = table["pageInfo"], 1
        while info["hasNextPage"] and pages < MAX_PAGES:
            more = await hub.call(session.official, PAGE.slug, MORE,
                                  {**variables, "measure": measure, "after": info["endCursor"]})
            warnings.extend(more.warnings)
            page = more.data.get("statistics")
            if page is None:
                break
            nodes.extend(page["nodes"])
            info, pages = page["pageInfo"], pages + 1
        if info["hasNextPage"]:
            warnings.append("统计表过大，只显示了前一部分，请缩小年度或口径后查看。")
        tables[alias] = {"minCount": table["minCount"], "nodes": nodes}
    titles = {c["id"]: c["title"] or c["id"] for c in answer.data.get("contracts") or ()}
    return tables, titles, tuple(dict.fromkeys(warnings))


@require_official(PAGE)
async def stats_page(request: Request, session: Session) -> Response:
    year, problem = _year(request)
    by = request.query_params.get("by", "origin")
    if by not in DIMENSIONS:
        by, problem = "origin", problem or "请选择列表中的统计口径。"
    dimension, by_name = DIMENSIONS[by]
    tables, titles, warnings = await _all_cells(request, session, year, dimension)
    empty: dict[str, Any] = {"minCount": 5, "nodes": []}
    k = int(tables.get("members", empty)["minCount"])

    members = _members_table(tables.get("members", empty)["nodes"], k)
    status_chart = bar_chart("chart-status", "党员联系状态（人）",
                             _bars(members, members.columns[:-1], row=TOTAL), min_count=k,
                             unit="人")
    region_chart = bar_chart("chart-region", f"各地区党员人数（按{by_name}）",
                             _bars(members, members.rows, column=TOTAL), min_count=k, unit="人")
    participation = _rate_table(tables.get("participation", empty)["nodes"], year)
    checkins = _rate_table(tables.get("checkins", empty)["nodes"], year)
    months, part_series = _series(participation)
    _, checkin_series = _series(checkins)
    obligations = _obligations_table(tables.get("obligations", empty)["nodes"], titles)
    charts: dict[str, Markup] = {
        "status": status_chart,
        "region": region_chart,
        "participation": line_chart("chart-participation", f"{year} 年组织生活参与率（按月）",
                                    months, part_series, min_count=k),
        "checkins": line_chart("chart-checkins", f"{year} 年报到率（按月）", months,
                               checkin_series, min_count=k),
        "obligations": bar_chart("chart-obligations", f"{year} 年协议义务履行情况（期）",
                                 _bars(obligations, obligations.columns[:-1], row=TOTAL),
                                 min_count=k, unit="期"),
    }
    this_year = _this_year()
    return render(request, "stats.html", title=PAGE.title, year=year, by=by, by_name=by_name,
                  dimensions=DIMENSIONS, years=list(range(this_year, this_year - 3, -1)),
                  problem=problem, warnings=warnings, min_count=k, charts=charts,
                  members=members, participation=participation, checkins=checkins,
                  obligations=obligations, total=TOTAL)


ROUTES = [
    Route("/stats", stats_page, methods=["GET"]),
]
