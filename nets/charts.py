"""A horizontal bar chart on a logarithmic axis, as an SVG string.

Model sizes span five orders of magnitude (LeNet's 62 thousand parameters, VGG-16's 138 million):
on a linear axis LeNet's bar is invisible. Gradio's native plots have no log axis, so this draws
one. Colours come from the page's CSS variables, so the chart follows the light or dark theme.
"""

from __future__ import annotations

import math
from html import escape

UNITS = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K"))


def short_number(value: float) -> str:
    """1234567 -> "1.2M", 61706 -> "62K"; powers of ten stay round ("10M")."""
    for size, unit in UNITS:
        if value >= size:
            scaled = value / size
            return f"{scaled:.0f}{unit}" if scaled >= 10 or scaled == int(scaled) else f"{scaled:.1f}{unit}"
    return f"{value:.0f}"


def log_bar_chart(names: list[str], values: list[int], title: str, width: int = 760) -> str:
    """SVG bars of ``values`` (all > 0) on a log10 axis, each labelled with its exact value."""
    if not names:
        return ""
    lo = math.floor(math.log10(min(values)))
    hi = math.ceil(math.log10(max(values)))
    hi = max(hi, lo + 1)
    label_w, value_w, row_h, top = 230, 110, 30, 34
    plot_w = width - label_w - value_w
    height = top + row_h * len(names) + 30

    def x_of(value: float) -> float:
        return label_w + plot_w * (math.log10(value) - lo) / (hi - lo)

    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{escape(title)}" '
        f'style="max-width:{width}px;font-family:var(--font);font-size:13px;color:var(--body-text-color)">',
        f'<text x="0" y="18" fill="currentColor" font-weight="600">{escape(title)}</text>',
    ]
    for power in range(lo, hi + 1):
        x = x_of(10**power)
        parts.append(f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height - 24}" '
                     'stroke="currentColor" stroke-opacity="0.15"/>')
        parts.append(f'<text x="{x:.1f}" y="{height - 8}" fill="currentColor" fill-opacity="0.7" '
                     f'text-anchor="middle">{short_number(10**power)}</text>')
    for i, (name, value) in enumerate(zip(names, values, strict=True)):
        y = top + i * row_h
        x = x_of(value)
        parts.append(f'<text x="{label_w - 8}" y="{y + 18}" fill="currentColor" text-anchor="end">'
                     f'{escape(name)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 5}" width="{max(x - label_w, 1.5):.1f}" height="{row_h - 10}" '
                     'rx="3" fill="var(--color-accent)" fill-opacity="0.85"/>')
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 18}" fill="currentColor">{value:,}</text>')
    parts.append("</svg>")
    return "".join(parts)
