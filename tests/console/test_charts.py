"""console.charts as units: the SVG is real XML (parsed with xml.etree), labels are escaped,
suppressed figures are never drawn as numbers, and bars and lines are where the values say."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from console.charts import Bar, Series, bar_chart, format_value, line_chart, text_width

NS = {"svg": "http://www.w3.org/2000/svg"}


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("role") == "img"
    assert not re.search(r"\sstyle=", svg)  # the console's CSP forbids inline styles
    return root


def _texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]


def _bars(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-label", ""): g for g in root.iterfind(".//svg:g", NS)
            if "bar" in (g.get("class") or "").split()}


def test_a_bar_chart_draws_shown_values_to_scale_with_chinese_labels() -> None:
    root = _parse(bar_chart("c1", "党员联系状态", [Bar("正常联系", 145), Bar("失联", 5),
                                                    Bar("已返乡", 0)], min_count=5, unit="人"))
    assert root.find("svg:title", NS) is not None
    assert "".join(root.find("svg:title", NS).itertext()) == "党员联系状态"  # type: ignore[union-attr]
    bars = _bars(root)
    assert set(bars) == {"正常联系", "失联", "已返乡"}
    widths = {label: float(g.find("svg:rect", NS).get("width", "0"))  # type: ignore[union-attr]
              for label, g in bars.items()}
    assert widths["已返乡"] == 0
    assert widths["正常联系"] == pytest.approx(widths["失联"] * 29, rel=0.02)
    assert {"145人", "5人", "0人"} <= set(_texts(root))
    desc = "".join(root.find("svg:desc", NS).itertext())  # type: ignore[union-attr]
    assert "正常联系：145人" in desc


def test_a_suppressed_bar_has_no_length_and_no_number() -> None:
    root = _parse(bar_chart("c2", "各地区", [Bar("泸县", None, suppressed=True),
                                              Bar("叙州区", 99), Bar("锦江区", None)],
                            min_count=5))
    bars = _bars(root)
    assert bars["泸县"].find("svg:rect", NS) is None
    assert "suppressed" in (bars["泸县"].get("class") or "")
    hidden = "".join(bars["泸县"].itertext())
    assert "*" in hidden and not any(ch.isdigit() for ch in hidden)
    assert bars["锦江区"].find("svg:rect", NS) is None
    assert "—" in "".join(bars["锦江区"].itertext())


def test_labels_are_escaped_and_long_ones_cut() -> None:
    hostile = '<script>alert("x")</script>&'
    svg = bar_chart("c3\"><x", hostile, [Bar(hostile, 3), Bar("郫都区犀浦街道犀和社区流入党员党支部"
                                                              "第一党小组第二联络点", 7)],
                    min_count=5)
    root = _parse(svg)  # parses: nothing broke out of its text or attribute
    assert "<script>" not in svg
    assert hostile in "".join(root.find("svg:title", NS).itertext())  # type: ignore[union-attr]
    labels = [t for t in _texts(root) if t.endswith("…")]
    assert labels and all(text_width(t, 13) <= 210 for t in labels)


def test_rates_are_scaled_to_one_hundred_percent() -> None:
    root = _parse(bar_chart("c4", "报到率", [Bar("甲", 0.5), Bar("乙", 1.0)], min_count=5,
                            percent=True))
    bars = _bars(root)
    half = float(bars["甲"].find("svg:rect", NS).get("width", "0"))  # type: ignore[union-attr]
    full = float(bars["乙"].find("svg:rect", NS).get("width", "0"))  # type: ignore[union-attr]
    assert full == pytest.approx(half * 2, rel=0.01)
    assert {"50%", "100%"} <= set(_texts(root))


def test_an_empty_chart_says_so() -> None:
    assert "暂无数据" in _texts(_parse(bar_chart("c5", "空", [], min_count=5)))
    assert "暂无数据" in _texts(_parse(line_chart("c6", "空", ["1月"], [], min_count=5)))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1.0])
def test_a_value_that_is_no_figure_is_refused(bad: float) -> None:
    with pytest.raises(ValueError):
        bar_chart("c7", "坏", [Bar("甲", bad)], min_count=5)
    with pytest.raises(ValueError):
        line_chart("c8", "坏", ["1月"], [Series("甲", [bad])], min_count=5)


def test_a_line_breaks_at_suppressed_and_missing_months() -> None:
    months = ["1月", "2月", "3月", "4月", "5月"]
    series = [Series("锦江区新业态新就业群体流动党员党支部", [1.0, 0.5, None, 0.8, 0.9],
                     [False, False, False, True, False]),
              Series("涌泉街道腾龙社区流入党员党支部", [0.25, None, None, None, None])]
    root = _parse(line_chart("c9", "组织生活参与率", months, series, min_count=5))
    groups = [g for g in root.iterfind(".//svg:g", NS) if g.get("class") == "series"]
    assert [g.get("data-series") for g in groups] == [s.name for s in series]
    first = groups[0].find("svg:path[@class='line']", NS)
    assert first is not None
    moves = first.get("d", "").split()
    # 1月-2月 one segment, 3月 missing, 4月 suppressed: 5月 starts a new segment alone
    assert [m[0] for m in moves] == ["M", "L", "M"]
    # five points at most, one per shown value: the suppressed 0.8 is drawn nowhere
    tips = ["".join(t.itertext()) for t in groups[0].iterfind(".//svg:title", NS)]
    assert len(tips) == 3 and not any("80%" in t for t in tips)
    # the lone point of the second series is a marker without a line
    assert groups[1].find("svg:path[@class='line']", NS) is None
    assert len(list(groups[1])) == 1
    desc = "".join(root.find("svg:desc", NS).itertext())  # type: ignore[union-attr]
    assert "4月 不公布" in desc and "80%" not in desc
    assert set(months) <= set(_texts(root))
    assert "100%" in _texts(root) and "0%" in _texts(root)


def test_a_line_needs_a_value_per_month() -> None:
    with pytest.raises(ValueError):
        line_chart("c10", "坏", ["1月", "2月"], [Series("甲", [0.5])], min_count=5)


def test_values_read_as_the_tables_print_them() -> None:
    assert format_value(0.9444, percent=True) == "94.4%"
    assert format_value(1.0, percent=True) == "100%"
    assert format_value(163) == "163"
    assert format_value(2.5) == "2.5"
