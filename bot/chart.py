"""A small, calm PNG chart of how strong a feeling was before and after each completed flow.

Pure: no clock, no files, no network. The same points and title always give the same bytes (on one
Pillow/zlib build). Drawn with Pillow only: shapes are drawn at three times the size and scaled down, so
edges are smooth; text is drawn afterwards at the final size with Pillow's built-in font.

Lower is better on this scale (0 = barely there, 10 = overwhelming), so an entry whose feeling went down is
"eased" and shown in soft green; unchanged is grey; stronger is a soft amber, never red.
"""

from __future__ import annotations

import io
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from itertools import pairwise

from PIL import Image, ImageDraw, ImageFont

from bot.flows.texts import Texts
from bot.render import render_plain

__all__ = [
    "EASED",
    "SAME",
    "STRONGER",
    "ChartWords",
    "FeelingPoint",
    "MoodPoint",
    "chart_words",
    "feelings_chart",
    "history_chart",
    "moods_chart",
]

Colour = tuple[int, int, int]
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

# Colours: a warm paper background, quiet ink, and three calm marks.
EASED: Colour = (72, 160, 128)
"""An entry whose feeling went down (after < before): soft green."""
SAME: Colour = (150, 154, 164)
"""An entry whose feeling stayed the same: neutral grey."""
STRONGER: Colour = (226, 166, 84)
"""An entry whose feeling went up (after > before): soft amber."""

_BACKGROUND: Colour = (252, 250, 246)
_INK: Colour = (64, 68, 78)
_MUTED: Colour = (128, 132, 142)
_GRID: Colour = (232, 228, 221)
_AVERAGE: Colour = (150, 165, 196)

_SCALE_MAX = 10
_SUPERSAMPLE = 3
# Characters the built-in font lacks, written with ones it has.
_REPLACEMENTS = str.maketrans(
    {
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2026": "...",
        "\u2192": "->",
        "\u00a0": " ",
    }
)


@dataclass(frozen=True)
class ChartWords:
    """The words drawn on the chart, from ``conversations/texts/lessons.yaml`` (``chart_*``): plain-text
    Jinja2 templates, and twelve short month names."""

    before: str
    after: str
    eased: str
    same: str
    stronger: str
    average_before: str
    """Variables: average (one decimal)."""
    average_after: str
    """Variables: average (one decimal)."""
    entries: str
    """Variables: count, group (entries per mark when marks are averages, else 0), about (group is rounded)."""
    months: tuple[str, ...]

    def say(self, template: str, **context: object) -> str:
        """One of these templates rendered as plain text on one line."""
        return " ".join(render_plain(template, context).split())


def chart_words(texts: Texts) -> ChartWords:
    """The chart's words from the bot's texts (the loader has checked there are twelve month names)."""
    return ChartWords(
        before=texts.chart_before,
        after=texts.chart_after,
        eased=texts.chart_eased,
        same=texts.chart_same,
        stronger=texts.chart_stronger,
        average_before=texts.chart_average_before,
        average_after=texts.chart_average_after,
        entries=texts.chart_entries,
        months=tuple(name.strip() for name in texts.chart_months.split(",")),
    )


@dataclass(frozen=True)
class FeelingPoint:
    """One completed flow: its local date and the feeling's strength before and after (0..10)."""

    day: date
    before: int
    after: int


@dataclass(frozen=True)
class _Mark:
    """One drawn column: a single entry, or the average of several neighbouring entries."""

    first_day: date
    before: float
    after: float
    colour: Colour


def feelings_chart(
    points: Sequence[FeelingPoint],
    *,
    title: str,
    width: int = 800,
    height: int = 450,
    words: ChartWords,
) -> bytes:
    """A PNG (bytes) of ``width`` x ``height`` pixels showing each entry's feeling before -> after.

    Entries are placed left to right in date order (ties keep their given order). Each one is a hollow ring
    at "before", a line, and a filled dot at "after", coloured by direction: ``EASED`` when the feeling went
    down, ``SAME`` when unchanged, ``STRONGER`` when it went up. Two faint horizontal lines mark the average
    before (dashed) and after (solid). When there are more entries than fit legibly, neighbouring entries are
    averaged into one mark each, and the subtitle says so. Values outside 0..10 are drawn clamped to the
    scale. Characters the built-in font cannot draw (emoji, most symbols) are left out of the title. The legend,
    subtitle and dates use ``words`` (see :func:`chart_words`).

    Raises ``ValueError`` when ``points`` is empty or the size is too small to draw on (under 320 x 180).
    Deterministic: the same arguments give the same bytes.
    """
    if not points:
        raise ValueError("feelings_chart needs at least one point")
    if width < 320 or height < 180:
        raise ValueError(f"chart size {width}x{height} is too small (at least 320x180)")
    ordered = sorted(points, key=lambda point: point.day)
    return _Chart(ordered, title, width, height, words).render()


class _Chart:
    """Layout and drawing for one chart; used once by ``feelings_chart``."""

    def __init__(self, points: list[FeelingPoint], title: str, width: int, height: int, words: ChartWords) -> None:
        self.points = points
        self.words = words
        self.width = width
        self.height = height
        unit = min(width / 800, height / 450)
        self.unit = unit
        self.average_before = sum(point.before for point in points) / len(points)
        self.average_after = sum(point.after for point in points) / len(points)
        self.title_font = _font(max(12, round(32 * unit)))
        self.text_font = _font(max(10, round(21 * unit)))
        self.small_font = _font(max(10, round(20 * unit)))
        self.title = _fit(_printable(title, self.title_font), self.title_font, width - 2 * self._px(28))

        margin = self._px(28)
        title_h = _line_height(self.title_font)
        text_h = _line_height(self.text_font)
        small_h = _line_height(self.small_font)
        self.margin = margin
        self.title_y = self._px(18)
        self.subtitle_y = self.title_y + title_h + self._px(6)
        lower_legend = height - self._px(16) - small_h
        self.legend_y = (lower_legend - self._px(8) - small_h, lower_legend)
        y_label_w = max(_text_width(self.small_font, str(v)) for v in range(0, _SCALE_MAX + 1, 2))
        self.left = margin + y_label_w + self._px(12)
        self.right = width - margin
        self.top = self.subtitle_y + text_h + self._px(12)
        self.x_label_y = self.legend_y[0] - self._px(14) - small_h
        self.bottom = self.x_label_y - self._px(10)

        plot_w = self.right - self.left
        max_marks = max(1, int(plot_w // max(self._px(16), 8.0)))
        self.marks = _group(points, max_marks)
        self.slot = plot_w / len(self.marks)
        self.radius = min(self._px(7.5), max(self._px(3.5), self.slot * 0.28))
        self.pad = self.radius + self._px(4)

    def _px(self, value: float) -> float:
        """A length designed for an 800 x 450 chart, scaled to this one."""
        return value * self.unit

    def x(self, index: int) -> float:
        """The horizontal centre of mark ``index``."""
        return self.left + (index + 0.5) * self.slot

    def y(self, value: float) -> float:
        """The vertical position of a feeling strength (clamped to 0..10)."""
        value = min(max(value, 0.0), float(_SCALE_MAX))
        span = (self.bottom - self.pad) - (self.top + self.pad)
        return self.bottom - self.pad - span * value / _SCALE_MAX

    def render(self) -> bytes:
        """The finished PNG."""
        big = Image.new("RGB", (self.width * _SUPERSAMPLE, self.height * _SUPERSAMPLE), _BACKGROUND)
        shapes = _Pen(ImageDraw.Draw(big), _SUPERSAMPLE)
        self._grid(shapes)
        self._averages(shapes)
        self._marks(shapes)
        self._legend_shapes(shapes)
        image = big.reduce(_SUPERSAMPLE)
        self._text(ImageDraw.Draw(image))
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=True)
        return out.getvalue()

    def _grid(self, pen: _Pen) -> None:
        for value in range(0, _SCALE_MAX + 1, 2):
            y = round(self.y(value))
            pen.hline(self.left, self.right, y, _GRID if value else _MUTED, 1)

    def _averages(self, pen: _Pen) -> None:
        thickness = max(1, round(self._px(2)))
        pen.dashed(self.left, self.right, self.y(self.average_before), _AVERAGE, thickness, self._px(9), self._px(6))
        pen.hline(self.left, self.right, self.y(self.average_after), _AVERAGE, thickness)

    def _marks(self, pen: _Pen) -> None:
        r = self.radius
        line = max(self._px(2), r * 0.5)
        ring = max(self._px(1.5), r * 0.36)
        for index, mark in enumerate(self.marks):
            x, y0, y1 = self.x(index), self.y(mark.before), self.y(mark.after)
            if abs(y1 - y0) > 2 * r:
                step = 1 if y1 > y0 else -1
                pen.line((x, y0 + step * r), (x, y1 - step * r), mark.colour, line)
            pen.ring((x, y0), r, mark.colour, ring)
            pen.dot((x, y1), r - ring * 0.5 if y0 == y1 else r, mark.colour)

    def _legend_rows(self) -> list[tuple[float, list[tuple[str, str]]]]:
        """(top y, [(kind, label), ...]) for each legend row: marks and colours, then the averages."""
        words = self.words
        return [
            (
                self.legend_y[0],
                [
                    ("ring", words.say(words.before)),
                    ("dot", words.say(words.after)),
                    ("eased", words.say(words.eased)),
                    ("same", words.say(words.same)),
                    ("stronger", words.say(words.stronger)),
                ],
            ),
            (
                self.legend_y[1],
                [
                    ("dashed", words.say(words.average_before, average=f"{self.average_before:.1f}")),
                    ("solid", words.say(words.average_after, average=f"{self.average_after:.1f}")),
                ],
            ),
        ]

    def _legend_layout(self) -> list[tuple[str, str, float, float, float]]:
        """(kind, label, symbol x, text x, top y) for each legend item, each row centred under the chart."""
        gap_symbol = self._px(8)
        gap_item = self._px(22)
        placed = []
        for y, items in self._legend_rows():
            widths = []
            for kind, label in items:
                symbol_w = self._px(28) if kind in ("dashed", "solid") else self._px(13)
                widths.append((symbol_w, _text_width(self.small_font, label)))
            total = sum(s + gap_symbol + t for s, t in widths) + gap_item * (len(items) - 1)
            x = max(self.margin, (self.width - total) / 2)
            for (kind, label), (symbol_w, text_w) in zip(items, widths, strict=True):
                placed.append((kind, label, x, x + symbol_w + gap_symbol, y))
                x += symbol_w + gap_symbol + text_w + gap_item
        return placed

    def _legend_shapes(self, pen: _Pen) -> None:
        r = self._px(6.5)
        thickness = max(1, round(self._px(2)))
        colours = {"eased": EASED, "same": SAME, "stronger": STRONGER}
        for kind, _label, x, _text_x, y in self._legend_layout():
            cy = y + _digit_centre(self.small_font)
            if kind == "ring":
                pen.ring((x + r, cy), r, _INK, self._px(2.2))
            elif kind == "dot":
                pen.dot((x + r, cy), r, _INK)
            elif kind in colours:
                pen.swatch((x + r, cy), r, colours[kind])
            elif kind == "dashed":
                pen.dashed(x, x + self._px(28), round(cy), _AVERAGE, thickness, self._px(8), self._px(5))
            else:
                pen.hline(x, x + self._px(28), round(cy), _AVERAGE, thickness)

    def _text(self, draw: ImageDraw.ImageDraw) -> None:
        draw.text((self.margin, self.title_y), self.title, font=self.title_font, fill=_INK)
        subtitle = _fit(self._subtitle(), self.text_font, self.width - 2 * self.margin)
        draw.text((self.margin, self.subtitle_y), subtitle, font=self.text_font, fill=_MUTED)

        centre = _digit_centre(self.small_font)
        for value in range(0, _SCALE_MAX + 1, 2):
            label = str(value)
            x = self.left - self._px(10) - _text_width(self.small_font, label)
            draw.text((x, self.y(value) - centre), label, font=self.small_font, fill=_MUTED)

        for x, label in self._x_labels():
            draw.text((x, self.x_label_y), label, font=self.small_font, fill=_MUTED)

        for _kind, label, _x, text_x, y in self._legend_layout():
            draw.text((text_x, y), label, font=self.small_font, fill=_INK)

    def _subtitle(self) -> str:
        """How many entries, over which dates, and whether marks are averages of several."""
        count, months = len(self.points), self.words.months
        first, last = self.points[0].day, self.points[-1].day
        if first == last:
            span = _long_day(first, months)
        elif first.year == last.year:
            span = f"{_short_day(first, False, months)} - {_long_day(last, months)}"
        else:
            span = f"{_long_day(first, months)} - {_long_day(last, months)}"
        size = count / len(self.marks) if len(self.marks) < count else 0
        group, about = (round(size), not float(size).is_integer()) if size else (0, False)
        entries = self.words.say(self.words.entries, count=count, group=group, about=about)
        return f"{entries} · {span}"

    def _x_labels(self) -> list[tuple[float, str]]:
        """A few date labels, evenly spaced and never overlapping: (left edge, text), first and last included."""
        with_year = self.points[0].day.year != self.points[-1].day.year
        texts = [_short_day(mark.first_day, with_year, self.words.months) for mark in self.marks]
        gap = self._px(24)
        count = len(self.marks)
        widest = max(_text_width(self.small_font, text) for text in texts)
        fits = max(1, min(8, int((self.right - self.left) // (widest + gap))))
        indices = list(range(0, count, math.ceil(count / fits)))
        if indices[-1] != count - 1:
            indices.append(count - 1)

        def box(index: int) -> tuple[float, float]:
            width = _text_width(self.small_font, texts[index])
            left = min(max(self.x(index) - width / 2, self.left), self.right - width)
            return left, left + width

        chosen: list[int] = []
        for index in indices:
            if chosen and texts[index] == texts[chosen[-1]]:
                continue
            if chosen and box(index)[0] < box(chosen[-1])[1] + gap:
                if index != count - 1 or len(chosen) == 1:
                    continue
                chosen.pop()  # the latest date matters more than the one before it
            chosen.append(index)
        return [(box(index)[0], texts[index]) for index in chosen]


class _Pen:
    """Draws shapes on the supersampled canvas, taking coordinates in final-image pixels."""

    def __init__(self, draw: ImageDraw.ImageDraw, scale: int) -> None:
        self.draw = draw
        self.scale = scale

    def hline(self, x0: float, x1: float, y: float, colour: Colour, thickness: float) -> None:
        """A horizontal line ``thickness`` final pixels thick, centred on ``y`` (crisp when ``y`` is whole)."""
        s = self.scale
        top = round((y - thickness / 2 + 0.5) * s)
        self.draw.rectangle((round(x0 * s), top, round(x1 * s) - 1, top + round(thickness * s) - 1), fill=colour)

    def dashed(self, x0: float, x1: float, y: float, colour: Colour, thickness: float, dash: float, gap: float) -> None:
        """A dashed horizontal line from ``x0`` to ``x1``."""
        x = x0
        while x < x1:
            self.hline(x, min(x + dash, x1), y, colour, thickness)
            x += dash + gap

    def line(self, start: tuple[float, float], end: tuple[float, float], colour: Colour, width: float) -> None:
        """A straight line with round ends."""
        s = self.scale
        a = (start[0] * s, start[1] * s)
        b = (end[0] * s, end[1] * s)
        w = max(1, round(width * s))
        self.draw.line((a, b), fill=colour, width=w)
        for cx, cy in (a, b):
            self.draw.ellipse((cx - w / 2, cy - w / 2, cx + w / 2, cy + w / 2), fill=colour)

    def dot(self, centre: tuple[float, float], radius: float, colour: Colour) -> None:
        """A filled circle."""
        s = self.scale
        cx, cy, r = centre[0] * s, centre[1] * s, radius * s
        self.draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)

    def swatch(self, centre: tuple[float, float], half: float, colour: Colour) -> None:
        """A small rounded square, the legend's colour sample."""
        s = self.scale
        cx, cy, h = centre[0] * s, centre[1] * s, half * s
        self.draw.rounded_rectangle((cx - h, cy - h, cx + h, cy + h), radius=h * 0.35, fill=colour)

    def ring(self, centre: tuple[float, float], radius: float, colour: Colour, width: float) -> None:
        """A hollow circle whose outer edge is ``radius``, filled with the background."""
        s = self.scale
        cx, cy, r = centre[0] * s, centre[1] * s, radius * s
        self.draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=_BACKGROUND, outline=colour, width=round(width * s))


def _group(points: list[FeelingPoint], max_marks: int) -> list[_Mark]:
    """Marks for ``points`` in order: one each, or neighbours averaged in near-equal groups (at most ``max_marks``)."""
    count = min(len(points), max_marks)
    marks = []
    for i in range(count):
        group = points[i * len(points) // count : (i + 1) * len(points) // count]
        before = sum(point.before for point in group)
        after = sum(point.after for point in group)
        colour = EASED if after < before else STRONGER if after > before else SAME
        marks.append(_Mark(group[0].day, before / len(group), after / len(group), colour))
    return marks


def _font(size: int) -> Font:
    """Pillow's built-in font at ``size`` pixels; its small bitmap font where sizes are unsupported."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ImportError, OSError):  # Pillow < 10.1, or built without FreeType
        return ImageFont.load_default()


def _printable(text: str, font: Font) -> str:
    """``text`` with what ``font`` can draw: accents dropped, dashes and quotes made plain, emoji left out.

    Letters the font lacks (other scripts) are kept: FreeType draws them as boxes, the bitmap font as ``?``.
    """
    text = unicodedata.normalize("NFKD", text.translate(_REPLACEMENTS))
    missing = _glyph(font, "\uffff") if isinstance(font, ImageFont.FreeTypeFont) else None
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category.startswith("M"):
            continue
        if char == " " or (char.isascii() and char.isprintable()):
            kept.append(char)
            continue
        drawable = isinstance(font, ImageFont.FreeTypeFont) and _glyph(font, char) != missing
        if drawable or category[0] in "LN":
            kept.append(char)
    result = " ".join("".join(kept).split())
    if not isinstance(font, ImageFont.FreeTypeFont):
        result = result.encode("latin-1", "replace").decode("latin-1")
    return result


def _glyph(font: ImageFont.FreeTypeFont, char: str) -> bytes:
    """The pixels of ``char`` in ``font``; every character the font lacks gives the same "missing" box."""
    size = math.ceil(font.size) * 2
    image = Image.new("L", (size, size))
    ImageDraw.Draw(image).text((0, 0), char, font=font, fill=255)
    return image.tobytes()


def _fit(text: str, font: Font, max_width: float) -> str:
    """``text``, shortened with '...' at the end if it is wider than ``max_width``."""
    if _text_width(font, text) <= max_width:
        return text
    while text and _text_width(font, text.rstrip() + "...") > max_width:
        text = text[:-1]
    return text.rstrip() + "..."


def _text_width(font: Font, text: str) -> float:
    return float(font.getlength(text))


def _line_height(font: Font) -> float:
    return float(font.getbbox("Ag")[3])


def _digit_centre(font: Font) -> float:
    """How far below the text origin the middle of a digit sits, for centring numbers on a line."""
    _left, top, _right, bottom = font.getbbox("0123456789")
    return (top + bottom) / 2


def _short_day(day: date, with_year: bool, months: Sequence[str]) -> str:
    """'3 Mar', or 'Mar 2025' when the chart spans more than one year (``months``: twelve short names)."""
    return f"{months[day.month - 1]} {day.year}" if with_year else f"{day.day} {months[day.month - 1]}"


def _long_day(day: date, months: Sequence[str]) -> str:
    """'3 Mar 2025' in any locale."""
    return f"{day.day} {months[day.month - 1]} {day.year}"


# --- check-in moods, and the two charts together ----------------------------------------------------------

_MOOD: Colour = (120, 130, 200)
"""The mood line: a calm blue, apart from the before/after colours."""
_MOOD_HEIGHT = 230
_MOOD_MAX = 5


@dataclass(frozen=True)
class MoodPoint:
    """One check-in: its local date and how the day felt, 1 (rough) to 5 (great)."""

    day: date
    mood: int


def moods_chart(
    points: Sequence[MoodPoint],
    *,
    title: str,
    labels: tuple[str, str],
    width: int = 800,
    height: int = _MOOD_HEIGHT,
    words: ChartWords,
) -> bytes:
    """A PNG of check-in moods over time: a line through one dot per check-in, placed by date, on the 1..5 scale
    with ``labels`` (rough, great) at its ends; higher is lighter. Values outside 1..5 are drawn clamped.

    Raises ``ValueError`` when ``points`` is empty. Deterministic: the same arguments give the same bytes.
    """
    if not points:
        raise ValueError("moods_chart needs at least one point")
    ordered = sorted(points, key=lambda point: point.day)
    return _mood_image(ordered, title, labels, width, height, words.months).tobytes_png()


def history_chart(
    feelings: Sequence[FeelingPoint],
    moods: Sequence[MoodPoint],
    *,
    title: str,
    moods_title: str,
    moods_labels: tuple[str, str],
    words: ChartWords,
) -> bytes:
    """One PNG for /lessons: the feelings chart (see :func:`feelings_chart`) with the moods chart (see
    :func:`moods_chart`) under it; either may be empty, not both (``ValueError``)."""
    if not feelings and not moods:
        raise ValueError("history_chart needs feelings or moods")
    parts: list[Image.Image] = []
    if feelings:
        parts.append(Image.open(io.BytesIO(feelings_chart(feelings, title=title, words=words))).convert("RGB"))
    if moods:
        ordered = sorted(moods, key=lambda point: point.day)
        months = words.months
        parts.append(_mood_image(ordered, moods_title, moods_labels, 800, _MOOD_HEIGHT, months).image)
    canvas = Image.new("RGB", (800, sum(part.height for part in parts)), _BACKGROUND)
    top = 0
    for part in parts:
        canvas.paste(part, (0, top))
        top += part.height
    out = io.BytesIO()
    canvas.save(out, format="PNG", optimize=True)
    return out.getvalue()


@dataclass(frozen=True)
class _Drawn:
    image: Image.Image

    def tobytes_png(self) -> bytes:
        out = io.BytesIO()
        self.image.save(out, format="PNG", optimize=True)
        return out.getvalue()


def _mood_image(
    points: list[MoodPoint], title: str, labels: tuple[str, str], width: int, height: int, months: Sequence[str]
) -> _Drawn:
    unit = min(width / 800, height / _MOOD_HEIGHT)
    title_font, small = _font(max(12, round(26 * unit))), _font(max(10, round(19 * unit)))
    margin = 28 * unit
    low, high = (_printable(label, small) for label in labels)
    label_w = max(_text_width(small, f"{_MOOD_MAX} {high}"), _text_width(small, f"1 {low}"))
    left, right = margin + label_w + 12 * unit, width - margin
    top = 14 * unit + _line_height(title_font) + 14 * unit
    bottom = height - 16 * unit - _line_height(small) - 10 * unit
    first, last = points[0].day, points[-1].day
    span = max((last - first).days, 1)

    def x(day: date) -> float:
        return left + (right - left) * ((day - first).days / span if last != first else 0.5)

    def y(mood: float) -> float:
        return bottom - (bottom - top) * (min(max(mood, 1), _MOOD_MAX) - 1) / (_MOOD_MAX - 1)

    big = Image.new("RGB", (width * _SUPERSAMPLE, height * _SUPERSAMPLE), _BACKGROUND)
    pen = _Pen(ImageDraw.Draw(big), _SUPERSAMPLE)
    for value in range(1, _MOOD_MAX + 1):
        pen.hline(left, right, round(y(value)), _GRID if value > 1 else _MUTED, 1)
    centres = [(x(point.day), y(point.mood)) for point in points]
    for start, end in pairwise(centres):
        pen.line(start, end, _MOOD, max(1.5, 2.5 * unit))
    radius = max(2.5, min(6 * unit, (right - left) / max(len(points), 1) * 0.3))
    for point in centres:
        pen.dot(point, radius, _MOOD)
    image = big.reduce(_SUPERSAMPLE)
    draw = ImageDraw.Draw(image)
    draw.text(
        (margin, 14 * unit),
        _fit(_printable(title, title_font), title_font, width - 2 * margin),
        font=title_font,
        fill=_INK,
    )
    centre = _digit_centre(small)
    for value, text in ((1, f"1 {low}"), (_MOOD_MAX, f"{_MOOD_MAX} {high}")):
        draw.text((left - 10 * unit - _text_width(small, text), y(value) - centre), text, font=small, fill=_MUTED)
    with_year = first.year != last.year
    for day in (first, last) if first != last else (first,):
        text = _short_day(day, with_year, months)
        edge = min(max(x(day) - _text_width(small, text) / 2, left), right - _text_width(small, text))
        draw.text((edge, bottom + 10 * unit), text, font=small, fill=_MUTED)
    return _Drawn(image)
