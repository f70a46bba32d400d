"""Charts as HTML and SVG strings: log-scale bars, 100% stacked bars, and training curves.

Gradio's native plots have no log axis (model sizes span five orders of magnitude: LeNet's 62
thousand parameters, VGG-16's 138 million), cannot mark a best epoch, and their legends and axis
ticks were cut off or fractional on small screens. These charts are drawn here instead:

- bars are HTML (a row per item: its name, a bar, its value), so their text stays at the page's
  own size on a phone, and every row of the data is a row of the chart;
- curves and maps are SVG with a view box of a phone's width (360), so on a phone their text is
  the page's size, not shrunk (at 480 it read at 8 px); integer epoch ticks, axis titles, a
  legend above the plot, and an optional marker (the best epoch).

Colours come from the page's CSS variables (``--color-accent``, ``currentColor``), so the charts
follow the light or dark theme. Every piece of text is given by the caller (already in the
visitor's language) and escaped here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

UNITS = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K"))
SERIES_COLOURS = ("#2f7ed8", "#f28f43", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
PART_COLOURS = ("#2f7ed8", "#f28f43", "#9aa0a6")  # conv, fully connected, other
# Twenty classes at most, twenty colours that stay apart on white and on the dark theme.
CLASS_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#dbdb8d",
    "#9edae5",
    "#393b79",
)


def short_number(value: float) -> str:
    """1234567 -> "1.2M", 61706 -> "62K"; powers of ten stay round ("10M")."""
    for size, unit in UNITS:
        if value >= size:
            scaled = value / size
            return f"{scaled:.0f}{unit}" if scaled >= 10 or scaled == int(scaled) else f"{scaled:.1f}{unit}"
    return f"{value:.0f}"


def _bars(title: str, rows: list[str], legend: str = "") -> str:
    return (
        f'<figure class="cc-chart" role="img" aria-label="{escape(title)}">'
        f'<figcaption class="cc-title">{escape(title)}</figcaption>{legend}{"".join(rows)}</figure>'
    )


def log_bar_chart(names: Sequence[str], values: Sequence[int], title: str) -> str:
    """Bars of ``values`` (all > 0) on a log10 axis, each labelled with its exact value, as HTML."""
    if not names:
        return ""
    lo = math.floor(math.log10(min(values)))
    hi = max(math.ceil(math.log10(max(values))), lo + 1)
    rows = []
    for name, value in zip(names, values, strict=True):
        share = 100 * (math.log10(value) - lo) / (hi - lo)
        rows.append(
            f'<div class="cc-row"><span class="cc-name">{escape(str(name))}</span>'
            f'<span class="cc-track"><span class="cc-bar" style="width:{max(share, 1):.1f}%"></span></span>'
            f'<span class="cc-value" title="{value:,}">{short_number(value)}</span></div>'
        )
    scale = (
        '<div class="cc-row cc-axis"><span class="cc-name"></span><span class="cc-track cc-ticks">'
        + "".join(
            f'<span style="left:{100 * (p - lo) / (hi - lo):.1f}%">{short_number(10**p)}</span>'
            for p in range(lo, hi + 1)
        )
        + '</span><span class="cc-value"></span></div>'
    )
    return _bars(title, rows + [scale])


def stacked_bar_chart(names: Sequence[str], shares: Sequence[Sequence[float]], parts: Sequence[str], title: str) -> str:
    """One 100% bar per name, split into ``parts`` by ``shares`` (percent, one list per name), as HTML."""
    if not names:
        return ""
    colours = PART_COLOURS if len(parts) <= len(PART_COLOURS) else SERIES_COLOURS
    legend = (
        '<div class="cc-legend">'
        + "".join(f'<span><i style="background:{colours[i]}"></i>{escape(part)}</span>' for i, part in enumerate(parts))
        + "</div>"
    )
    rows = []
    for name, split in zip(names, shares, strict=True):
        pieces = "".join(
            f'<span class="cc-piece" style="width:{value:.2f}%;background:{colours[i]}" '
            f'title="{escape(parts[i])}: {value:g}%">{f"{value:.0f}%" if value >= 12 else ""}</span>'
            for i, value in enumerate(split)
            if value > 0
        )
        rows.append(
            f'<div class="cc-row"><span class="cc-name">{escape(str(name))}</span>'
            f'<span class="cc-track cc-stack">{pieces}</span></div>'
        )
    return _bars(title, rows, legend)


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values spanning [low, high]."""
    if high <= low:
        return [low]
    raw = (high - low) / count
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 2.5, 5, 10) if raw <= step * m)
    first = math.ceil(low / step) * step
    return [round(first + i * step, 10) for i in range(int((high - first) / step + 1e-9) + 1)]


def line_chart(
    series: dict[str, Sequence[tuple[float, float]]],
    *,
    title: str,
    x_title: str,
    y_title: str,
    y_range: tuple[float, float] | None = None,
    marker: tuple[float, str] | None = None,
    percent: bool = False,
    width: int = 360,
    height: int = 260,
) -> str:
    """Lines of (x, y) points, one per series (its name in the legend), as SVG.

    x is an epoch-like count: its ticks are whole numbers. ``y_range`` fixes the y axis (else it
    fits the data); ``percent`` shows y as percentages. ``marker`` = (x, label) draws a dashed
    vertical line there, labelled (the best epoch).
    """
    points = [p for line in series.values() for p in line]
    if not points:
        return ""
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    x_lo, x_hi = min(xs), max(max(xs), min(xs) + 1)
    y_lo, y_hi = y_range if y_range is not None else (min(0.0, min(ys)), max(ys) * 1.08 or 1.0)
    legend, row_x, rows = [], 0.0, 0  # (x, row) of each entry: rows wrap at the chart's width
    for name in series:
        entry = 38 + 8 * len(name)
        if row_x > 0 and row_x + entry - 16 > width:
            row_x, rows = 0.0, rows + 1
        legend.append((row_x, rows))
        row_x += entry
    left, right, top, bottom = 56, 14, 56 + 20 * rows, 46
    height += 20 * rows
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return left + plot_w * (x - x_lo) / (x_hi - x_lo)

    def py(y: float) -> float:
        return top + plot_h * (1 - (min(max(y, y_lo), y_hi) - y_lo) / (y_hi - y_lo))

    def label(y: float) -> str:
        return f"{y * 100:.0f}%" if percent else f"{y:g}"

    out = [
        f'<svg class="cc-lines" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(title)}" style="max-width:{width * 1.3:.0f}px;font-family:var(--font);'
        'font-size:14px;color:var(--body-text-color)">',
        f'<text x="0" y="16" fill="currentColor" font-weight="600">{escape(title)}</text>',
    ]
    for i, (name, (legend_x, row)) in enumerate(zip(series, legend, strict=True)):  # above the plot, wrapped
        colour, y = SERIES_COLOURS[i % len(SERIES_COLOURS)], 35 + 20 * row
        out.append(
            f'<line x1="{legend_x:.0f}" y1="{y}" x2="{legend_x + 18:.0f}" y2="{y}" stroke="{colour}" stroke-width="3"/>'
        )
        out.append(f'<text x="{legend_x + 23:.0f}" y="{y + 5}" fill="currentColor">{escape(name)}</text>')
    for y in _ticks(y_lo, y_hi):
        out.append(
            f'<line x1="{left}" y1="{py(y):.1f}" x2="{width - right}" y2="{py(y):.1f}" stroke="currentColor" '
            'stroke-opacity="0.12"/>'
        )
        out.append(
            f'<text x="{left - 6}" y="{py(y) + 4:.1f}" fill="currentColor" fill-opacity="0.75" '
            f'text-anchor="end">{label(y)}</text>'
        )
    x_step = max(1, math.ceil((x_hi - x_lo) / 8))  # whole epochs, at most ~9 labels
    for x in range(math.ceil(x_lo), math.floor(x_hi) + 1, x_step):
        out.append(
            f'<text x="{px(x):.1f}" y="{height - bottom + 18}" fill="currentColor" fill-opacity="0.75" '
            f'text-anchor="middle">{x}</text>'
        )
    out.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" '
        'stroke="currentColor" stroke-opacity="0.4"/>'
    )
    out.append(
        f'<text x="{left + plot_w / 2:.0f}" y="{height - 6}" fill="currentColor" text-anchor="middle">'
        f"{escape(x_title)}</text>"
    )
    out.append(
        f'<text transform="translate(14 {top + plot_h / 2:.0f}) rotate(-90)" fill="currentColor" '
        f'text-anchor="middle">{escape(y_title)}</text>'
    )
    if marker is not None:
        x, text = marker
        out.append(
            f'<line x1="{px(x):.1f}" y1="{top}" x2="{px(x):.1f}" y2="{top + plot_h}" stroke="currentColor" '
            'stroke-dasharray="4 4" stroke-opacity="0.6"/>'
        )
        anchor = "end" if px(x) > left + plot_w * 0.7 else "start"
        shift = -4 if anchor == "end" else 4
        out.append(
            f'<text x="{px(x) + shift:.1f}" y="{top + 14}" fill="currentColor" text-anchor="{anchor}" '
            f'font-size="14">{escape(text)}</text>'
        )
    for i, line in enumerate(series.values()):
        colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in line)
        out.append(
            f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2.5" stroke-linejoin="round"/>'
        )
        out += [f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>' for x, y in line]
    out.append("</svg>")
    return "".join(out)


def scatter_chart(
    points: Sequence[tuple[float, float, int, bool, bool, str]],
    classes: Sequence[str],
    *,
    title: str,
    x_title: str,
    y_title: str,
    legend_notes: tuple[str, str, str],
    pick_hint: str = "",
    width: int = 360,
    height: int = 330,
) -> str:
    """Points coloured by class, as SVG: (x, y, class index, is validation, is a mistake, tooltip).

    Training points are small and pale, validation points larger with an outline, and a mistake
    gets a ring in the text colour (``legend_notes`` names the three: training, validation,
    mistake). Each point's tooltip (an SVG <title>) says which image it is; with ``pick_hint``, a line
    under the map (its first words) is where the page names the point hovered or tapped (a phone has
    no tooltips), and each point has a finger-sized invisible target. The class legend
    wraps above the plot; the axes keep the data's own aspect (PCA distances are meaningful).
    """
    if not points:
        return ""
    legend, row_x, rows = [], 0.0, 0
    for name in [*classes, *legend_notes]:
        entry = 30 + 8 * len(name)
        if row_x > 0 and row_x + entry - 16 > width:
            row_x, rows = 0.0, rows + 1
        legend.append((row_x, rows))
        row_x += entry
    top, pad = 30 + 20 * rows, 12
    height += 20 * rows
    side_w, side_h = width - 2 * pad - 20, height - top - pad - 28
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    span = max(max(xs) - min(xs), max(ys) - min(ys)) or 1.0
    scale = min(side_w, side_h) / span
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    mid_x, mid_y = pad + 20 + side_w / 2, top + side_h / 2

    # the title is HTML, so a long one (or a Korean one) wraps on a phone instead of being cut off
    out = [
        f'<figure class="cc-chart" style="max-width:{width * 1.3:.0f}px"><figcaption class="cc-title">'
        f"{escape(title)}</figcaption>"
        f'<svg class="cc-scatter" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(title)}" style="font-family:var(--font);'
        'font-size:13px;color:var(--body-text-color)">'
    ]
    notes = len(classes)
    for i, (name, (x, row)) in enumerate(zip([*classes, *legend_notes], legend, strict=True)):
        y = 18 + 20 * row
        if i < notes:
            out.append(f'<circle cx="{x + 7:.0f}" cy="{y - 4}" r="6" fill="{CLASS_COLOURS[i % len(CLASS_COLOURS)]}"/>')
        elif i == notes:  # training image
            out.append(f'<circle cx="{x + 7:.0f}" cy="{y - 4}" r="3" fill="currentColor" fill-opacity="0.45"/>')
        elif i == notes + 1:  # validation image
            out.append(f'<circle cx="{x + 7:.0f}" cy="{y - 4}" r="5" fill="currentColor" stroke="currentColor"/>')
        else:  # mistake
            out.append(
                f'<circle cx="{x + 7:.0f}" cy="{y - 4}" r="7" fill="none" stroke="currentColor" stroke-width="2"/>'
            )
        out.append(f'<text x="{x + 18:.0f}" y="{y}" fill="currentColor">{escape(name)}</text>')
    out.append(
        f'<rect x="{pad + 20}" y="{top}" width="{side_w}" height="{side_h}" fill="none" '
        'stroke="currentColor" stroke-opacity="0.25"/>'
    )
    out.append(
        f'<text x="{pad + 20 + side_w / 2:.0f}" y="{height - 8}" fill="currentColor" text-anchor="middle">'
        f"{escape(x_title)}</text>"
    )
    out.append(
        f'<text transform="translate(14 {top + side_h / 2:.0f}) rotate(-90)" fill="currentColor" '
        f'text-anchor="middle">{escape(y_title)}</text>'
    )
    order = sorted(range(len(points)), key=lambda i: (points[i][3], points[i][4]))  # mistakes drawn last
    for i in order:
        x, y, label, is_val, mistake, tip = points[i]
        px, py = mid_x + (x - cx) * scale, mid_y - (y - cy) * scale
        colour = CLASS_COLOURS[label % len(CLASS_COLOURS)]
        shape = (
            f'<circle cx="{px:.1f}" cy="{py:.1f}" r="5" fill="{colour}" stroke="currentColor" stroke-opacity="0.6"/>'
            if is_val
            else f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}" fill-opacity="0.6"/>'
        )
        ring = (
            f'<circle cx="{px:.1f}" cy="{py:.1f}" r="8" fill="none" stroke="currentColor" stroke-width="2"/>'
            if mistake
            else ""
        )
        target = f'<circle cx="{px:.1f}" cy="{py:.1f}" r="10" fill="transparent"/>' if pick_hint else ""
        out.append(
            f'<g class="cc-point{" cc-mistake" if mistake else ""}"><title>{escape(tip)}</title>'
            f"{target}{shape}{ring}</g>"
        )
    out.append("</svg>")
    if pick_hint:
        out.append(f'<p class="cc-picked" aria-live="polite">{escape(pick_hint)}</p>')
    out.append("</figure>")
    return "".join(out)


def kernel_grid(kernels, title: str, cell: int = 12, gap: int = 10) -> str:
    """Convolution kernels (K, h, w) as a row of small squares, red positive, blue negative, white
    zero, all on one scale (the largest weight), as SVG."""
    count, height, width = kernels.shape
    peak = float(abs(kernels).max()) or 1.0
    size_w, size_h = count * (width * cell + gap) - gap, height * cell
    out = [
        f'<figure class="cc-chart" role="img" aria-label="{escape(title)}"><figcaption class="cc-title">'
        f'{escape(title)}</figcaption><svg viewBox="0 0 {size_w} {size_h}" width="100%" '
        f'style="max-width:{size_w * 1.5:.0f}px">'
    ]
    for k in range(count):
        left = k * (width * cell + gap)
        for y in range(height):
            for x in range(width):
                v = float(kernels[k, y, x]) / peak  # -1..1
                shade = round(255 * (1 - abs(v)))
                colour = f"rgb(255,{shade},{shade})" if v >= 0 else f"rgb({shade},{shade},255)"
                out.append(
                    f'<rect x="{left + x * cell}" y="{y * cell}" width="{cell}" height="{cell}" fill="{colour}"/>'
                )
        out.append(
            f'<rect x="{left}" y="0" width="{width * cell}" height="{size_h}" fill="none" '
            'stroke="currentColor" stroke-opacity="0.3"/>'
        )
    out.append("</svg></figure>")
    return "".join(out)


# The bars' layout; the page includes it once (app.py).
CSS = """
.cc-chart { margin: 0; font-size: 0.9em; }
.cc-title { font-weight: 600; margin-bottom: 6px; }
.cc-row { display: grid; grid-template-columns: minmax(7em, 34%) 1fr 4.2em; gap: 8px; align-items: center;
          margin: 3px 0; }
.cc-name { overflow-wrap: anywhere; text-align: right; }
.cc-track { position: relative; height: 18px; border-radius: 4px; background: var(--border-color-primary); }
.cc-bar { position: absolute; inset: 0 auto 0 0; background: var(--color-accent); border-radius: 4px; opacity: 0.85; }
.cc-value { font-variant-numeric: tabular-nums; }
.cc-axis .cc-track { background: none; height: 1.2em; }
.cc-ticks span { position: absolute; transform: translateX(-50%); font-size: max(0.8em, 11px); opacity: 0.7; }
.cc-stack { display: flex; overflow: hidden; grid-column: 2 / 4; }
.cc-piece { height: 100%; color: #000; font-size: max(0.75em, 11px); text-align: center; line-height: 18px;
            overflow: hidden; }
.cc-picked { margin: 4px 0 0; min-height: 1.5em; font-size: 0.95em; }
.cc-picked-point circle:not([fill="transparent"]) { stroke: var(--color-accent); stroke-width: 3; stroke-opacity: 1; }
.cc-legend { display: flex; flex-wrap: wrap; gap: 12px; margin-bottom: 6px; font-size: 0.9em; }
.cc-legend i { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 4px;
               vertical-align: -1px; }
"""
