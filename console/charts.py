"""Charts as SVG text rendered on the server: a bar chart and a line chart, with Chinese labels.

Why on the server: the console loads nothing from outside and runs no chart library in the
browser (the Content-Security-Policy allows only 'self'), the SVG prints as it shows, and tests
can parse it. Each function returns `markupsafe.Markup` (a `str`): every label and title is
escaped here, so a page may put the result into a template as it is. The SVG uses presentation
attributes and classes only, never `style` attributes (the policy forbids inline styles).

Suppressed figures (the hub's small-cell suppression) are drawn as what they are: a bar with
no length and the text "*" (withheld: maybe small, maybe protecting a small neighbour), a gap
in a line; never a number the hub withheld. A figure that does not exist ("no activity that
month") is "—" in a bar chart and a gap in a line. Each chart has a <title> and a <desc> for
screen readers; the page puts the same figures in a table beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

from markupsafe import Markup

__all__ = ["Bar", "Series", "bar_chart", "line_chart", "text_width", "format_value",
           "PALETTE", "FONT"]

FONT = "Noto Sans CJK SC, Noto Sans SC, PingFang SC, Microsoft YaHei, sans-serif"
#: series colours, told apart also by marker shape in the line chart
PALETTE = ("#b71c1c", "#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#5d4037",
           "#ad1457")
_MARKERS = ("circle", "square", "diamond", "triangle")
#: the drawing's own width: about the width of half a desk screen, so text stays legible
WIDTH = 520


@dataclass(frozen=True)
class Bar:
    """One bar: `value` None with `suppressed` False means there is no figure ("—")."""

    label: str
    value: float | None
    suppressed: bool = False
    #: a longer name for the tooltip (e.g. the full organisation name), default the label
    full_label: str | None = None


@dataclass(frozen=True)
class Series:
    """One line: a value per category (None: no figure); `suppressed[i]` says the i-th
    value was withheld by the hub (shown as a gap, said so in the tooltip)."""

    name: str
    values: Sequence[float | None]
    suppressed: Sequence[bool] = field(default_factory=tuple)

    def withheld(self, index: int) -> bool:
        return index < len(self.suppressed) and bool(self.suppressed[index])


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def _num(value: float) -> str:
    """A coordinate, short and stable (no 1e-05, no trailing zeros)."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def text_width(text: str, size: float) -> float:
    """Roughly how wide `text` is at `size` px: a CJK or full-width character is one em,
    anything else about 0.6 em (enough to lay labels out without a font file)."""
    return sum(size if ord(ch) >= 0x2E80 else size * 0.6 for ch in text)


def _fit(text: str, size: float, width: float) -> str:
    """`text`, cut with "…" to fit `width` px."""
    if text_width(text, size) <= width:
        return text
    out = ""
    for ch in text:
        if text_width(out + ch + "…", size) > width:
            break
        out += ch
    return out + "…"


def format_value(value: float, *, percent: bool = False) -> str:
    """A figure as the tables print it: 94.4% for a rate, 163 for a count, 2.5 for points."""
    if percent:
        return f"{value * 100:.1f}%".replace(".0%", "%")
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.1f}"


def _check(value: float | None) -> float | None:
    if value is not None and (math.isnan(value) or math.isinf(value) or value < 0):
        raise ValueError(f"a chart value must be a finite number of at least 0, not {value!r}")
    return value


def _svg_open(chart_id: str, height: float, title: str, desc: str) -> list[str]:
    ident = _attr(chart_id)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{ident}" '
        f'viewBox="0 0 {WIDTH} {_num(height)}" width="{WIDTH}" height="{_num(height)}" '
        f'role="img" aria-labelledby="{ident}-title {ident}-desc" '
        f'font-family="{_attr(FONT)}" font-size="13">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(desc)}</desc>',
    ]


def bar_chart(chart_id: str, title: str, bars: Sequence[Bar], *, min_count: int,
              percent: bool = False, unit: str = "") -> Markup:
    """Horizontal bars (labels on the left read well in Chinese), longest scale = the largest
    shown value. A suppressed bar has no length and reads "<min_count"; a missing one "—"."""
    for bar in bars:
        _check(bar.value)
    label_size, row, top, bottom = 13.0, 28.0, 12.0, 12.0
    longest = max((text_width(b.label, label_size) for b in bars), default=0.0)
    label_w = min(max(longest, 40.0), 180.0) + 12
    value_w = 84.0
    plot_w = WIDTH - label_w - value_w - 8
    height = top + bottom + row * max(len(bars), 1)
    shown = [b.value for b in bars if b.value is not None and not b.suppressed]
    # rates against 100%; counts against the largest shown one (all zero: nothing drawn)
    scale = 1.0 if percent else (max(shown, default=0.0) or 1.0)
    described = "；".join(f"{b.full_label or b.label}：{_bar_text(b, min_count, percent, unit)}"
                         for b in bars) or "暂无数据"
    parts = _svg_open(chart_id, height, title, described)
    parts.append(f'<line class="axis" x1="{_num(label_w)}" y1="{_num(top - 4)}" '
                 f'x2="{_num(label_w)}" y2="{_num(height - bottom + 4)}" stroke="#999" '
                 f'stroke-width="1"/>')
    if not bars:
        parts.append(f'<text x="{_num(WIDTH / 2)}" y="{_num(top + row / 2 + 4)}" '
                     f'text-anchor="middle" fill="#666">暂无数据</text>')
    for i, bar in enumerate(bars):
        y = top + i * row
        mid = y + row / 2 + 4.5
        text = _bar_text(bar, min_count, percent, unit)
        kind = "suppressed" if bar.suppressed else ("missing" if bar.value is None else "shown")
        parts.append(f'<g class="bar {kind}" data-label="{_attr(bar.label)}">')
        parts.append(f"<title>{escape(bar.full_label or bar.label)}：{escape(text)}</title>")
        parts.append(f'<text class="label" x="{_num(label_w - 6)}" y="{_num(mid)}" '
                     f'text-anchor="end" fill="#222">'
                     f"{escape(_fit(bar.label, label_size, label_w - 8))}</text>")
        x_text = label_w + 6
        if kind == "shown":
            assert bar.value is not None
            length = plot_w * bar.value / scale if scale else 0.0
            parts.append(f'<rect x="{_num(label_w)}" y="{_num(y + 5)}" width="{_num(length)}" '
                         f'height="{_num(row - 10)}" fill="{PALETTE[0]}" rx="2"/>')
            x_text = label_w + length + 6
            parts.append(f'<text class="value" x="{_num(x_text)}" y="{_num(mid)}" '
                         f'fill="#222">{escape(text)}</text>')
        else:
            parts.append(f'<text class="value" x="{_num(x_text)}" y="{_num(mid)}" '
                         f'fill="#888" font-style="italic">{escape(text)}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))


def _bar_text(bar: Bar, min_count: int, percent: bool, unit: str) -> str:
    if bar.suppressed:
        return "*（不公布）"
    if bar.value is None:
        return "—"
    return format_value(bar.value, percent=percent) + ("" if percent else unit)


def line_chart(chart_id: str, title: str, categories: Sequence[str],
               series: Sequence[Series], *, min_count: int, percent: bool = True) -> Markup:
    """Lines over `categories` (e.g. months "1月".."12月"), one per series, broken where a
    value is missing or suppressed; rates on a 0–100% scale. A legend names each series."""
    for s in series:
        if len(s.values) != len(categories):
            raise ValueError(f"series {s.name!r} has {len(s.values)} values for "
                             f"{len(categories)} categories")
        for v in s.values:
            _check(v)
    left, right, top, plot_h = 52.0, 16.0, 14.0, 200.0
    legend_row = 20.0
    legend_lines = _legend_layout(series, WIDTH - left - right)
    height = top + plot_h + 28 + legend_row * len(legend_lines) + 8
    plot_w = WIDTH - left - right
    shown = [v for s in series for i, v in enumerate(s.values)
             if v is not None and not s.withheld(i)]
    top_value = 1.0 if percent else _nice(max(shown, default=1.0))
    step = plot_w / max(len(categories), 1)

    def x_of(i: int) -> float:
        return left + step * (i + 0.5)

    def y_of(v: float) -> float:
        return top + plot_h - plot_h * min(v / top_value, 1.0) if top_value else top + plot_h

    described = "；".join(_series_text(s, categories, min_count, percent) for s in series) \
        or "暂无数据"
    parts = _svg_open(chart_id, height, title, described)
    for k in range(5):  # gridlines at 0, 25, 50, 75, 100 %
        v = top_value * k / 4
        y = y_of(v)
        parts.append(f'<line class="grid" x1="{_num(left)}" y1="{_num(y)}" '
                     f'x2="{_num(WIDTH - right)}" y2="{_num(y)}" stroke="#e0e0e0" '
                     f'stroke-width="1"/>')
        parts.append(f'<text class="tick" x="{_num(left - 6)}" y="{_num(y + 4)}" '
                     f'text-anchor="end" fill="#666" font-size="11">'
                     f"{escape(format_value(v, percent=percent))}</text>")
    for i, category in enumerate(categories):
        parts.append(f'<text class="category" x="{_num(x_of(i))}" '
                     f'y="{_num(top + plot_h + 18)}" text-anchor="middle" fill="#444" '
                     f'font-size="11">{escape(category)}</text>')
    if not series:
        parts.append(f'<text x="{_num(left + plot_w / 2)}" y="{_num(top + plot_h / 2)}" '
                     f'text-anchor="middle" fill="#666">暂无数据</text>')
    for n, s in enumerate(series):
        colour = PALETTE[n % len(PALETTE)]
        parts.append(f'<g class="series" data-series="{_attr(s.name)}">')
        path: list[str] = []
        pen_down = False
        for i, v in enumerate(s.values):
            if v is None or s.withheld(i):
                pen_down = False
                continue
            path.append(f"{'L' if pen_down else 'M'}{_num(x_of(i))},{_num(y_of(v))}")
            pen_down = True
        if any(step.startswith("L") for step in path):  # a lone point needs no line
            parts.append(f'<path class="line" d="{" ".join(path)}" fill="none" '
                         f'stroke="{colour}" '
                         f'stroke-width="2"/>')
        for i, v in enumerate(s.values):
            if v is None or s.withheld(i):
                continue
            point = (f"{s.name} {categories[i]}：{format_value(v, percent=percent)}")
            parts.append(_marker(n, x_of(i), y_of(v), colour, point))
        parts.append("</g>")
    y = top + plot_h + 30
    for line in legend_lines:
        for n, x, name in line:
            colour = PALETTE[n % len(PALETTE)]
            parts.append(_marker(n, x + 5, y + 5, colour, None))
            parts.append(f'<text class="legend" x="{_num(x + 14)}" y="{_num(y + 9.5)}" '
                         f'fill="#222" font-size="12">{escape(name)}</text>')
        y += legend_row
    parts.append("</svg>")
    return Markup("".join(parts))


def _nice(value: float) -> float:
    """A round upper bound for a scale (1, 2, 5 × 10^n)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for m in (1, 2, 5, 10):
        if value <= m * power:
            return float(m * power)
    return float(10 * power)


def _legend_layout(series: Sequence[Series], width: float) -> list[list[tuple[int, float, str]]]:
    """Legend entries (series index, x, name cut to fit) wrapped into lines."""
    lines: list[list[tuple[int, float, str]]] = []
    line: list[tuple[int, float, str]] = []
    x = 52.0
    for n, s in enumerate(series):
        name = _fit(s.name, 12, width - 30)
        need = 14 + text_width(name, 12) + 18
        if line and x + need > 52.0 + width:
            lines.append(line)
            line, x = [], 52.0
        line.append((n, x, name))
        x += need
    if line:
        lines.append(line)
    return lines


def _marker(n: int, x: float, y: float, colour: str, tip: str | None) -> str:
    shape = _MARKERS[(n // len(PALETTE) + n) % len(_MARKERS)]
    tooltip = f"<title>{escape(tip)}</title>" if tip else ""
    if shape == "circle":
        body = f'<circle cx="{_num(x)}" cy="{_num(y)}" r="4" fill="{colour}"'
    elif shape == "square":
        body = (f'<rect x="{_num(x - 4)}" y="{_num(y - 4)}" width="8" height="8" '
                f'fill="{colour}"')
    elif shape == "diamond":
        body = (f'<path d="M{_num(x)},{_num(y - 5)} L{_num(x + 5)},{_num(y)} '
                f'L{_num(x)},{_num(y + 5)} L{_num(x - 5)},{_num(y)} Z" fill="{colour}"')
    else:
        body = (f'<path d="M{_num(x)},{_num(y - 5)} L{_num(x + 5)},{_num(y + 4)} '
                f'L{_num(x - 5)},{_num(y + 4)} Z" fill="{colour}"')
    return f'{body} class="point">{tooltip}</{body.split(" ", 1)[0][1:]}>'


def _series_text(s: Series, categories: Sequence[str], min_count: int, percent: bool) -> str:
    cells = []
    for i, v in enumerate(s.values):
        if s.withheld(i):
            cells.append(f"{categories[i]} 不公布（涉及人数少于{min_count}人）")
        elif v is not None:
            cells.append(f"{categories[i]} {format_value(v, percent=percent)}")
    return f"{s.name}：" + ("，".join(cells) if cells else "无数据")
