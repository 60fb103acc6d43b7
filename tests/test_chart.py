"""The feelings chart: a valid, deterministic, calm PNG for 1 to 500 entries."""

from __future__ import annotations

import io
import itertools
import random
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from PIL import Image, ImageFont

from bot.chart import EASED, SAME, STRONGER, FeelingPoint, _Chart, chart_words, feelings_chart
from bot.flows.catalog import Catalog, load_catalog
from tests.conftest import CONVERSATIONS

DAY = date(2025, 3, 14)

WORDS = chart_words(load_catalog(CONVERSATIONS).texts)
"""The shipped chart words (every chart is drawn with the words of the bot's texts)."""


def _drawn(points: list[FeelingPoint], **options: Any) -> bytes:
    """``feelings_chart`` with the shipped words."""
    return feelings_chart(points, words=WORDS, **options)


def _open(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def _points(count: int, seed: int = 7) -> list[FeelingPoint]:
    rng = random.Random(seed)
    points = []
    day = date(2024, 11, 20)
    for _ in range(count):
        before = rng.randint(0, 10)
        points.append(FeelingPoint(day, before, min(10, max(0, before - rng.randint(-2, 4)))))
        day += timedelta(days=rng.choice([0, 1, 1, 2]))
    return points


def _plot_colours(png: bytes) -> set[tuple[int, int, int]]:
    """Exact colours in the middle band of the chart: the plot, without the title and the legend."""
    image = _open(png).convert("RGB")
    band = image.crop((0, image.height * 25 // 100, image.width, image.height * 70 // 100))
    return {colour for _count, colour in band.getcolors(maxcolors=1 << 20) or []}


@pytest.mark.parametrize("count", [1, 2, 500])
def test_a_png_of_the_requested_size(count: int) -> None:
    png = _drawn(_points(count), title="Before and after")
    image = _open(png)
    assert image.format == "PNG"
    assert image.size == (800, 450)
    assert len(png) < 100_000


def test_another_size() -> None:
    image = _open(_drawn(_points(30), title="Square", width=600, height=600))
    assert image.size == (600, 600)


def test_the_same_input_gives_the_same_bytes() -> None:
    points = _points(40)
    assert _drawn(points, title="Again") == _drawn(list(points), title="Again")


def test_entries_are_drawn_in_date_order_whatever_order_they_come_in() -> None:
    points = [FeelingPoint(DAY + timedelta(days=i), p.before, p.after) for i, p in enumerate(_points(25))]
    assert _drawn(points, title="t") == _drawn(list(reversed(points)), title="t")


def test_different_data_gives_a_different_picture() -> None:
    one = _drawn([FeelingPoint(DAY, 8, 3)], title="t")
    other = _drawn([FeelingPoint(DAY, 8, 4)], title="t")
    assert one != other
    assert _drawn([FeelingPoint(DAY, 8, 3)], title="u") != one


def test_an_eased_entry_is_drawn_in_the_eased_colour() -> None:
    colours = _plot_colours(_drawn([FeelingPoint(DAY, 8, 4)], title="Eased"))
    assert EASED in colours
    assert STRONGER not in colours


def test_a_stronger_entry_is_amber_and_never_the_eased_colour() -> None:
    colours = _plot_colours(_drawn([FeelingPoint(DAY, 4, 7)], title="Stronger"))
    assert STRONGER in colours
    assert EASED not in colours


def test_equal_before_and_after_is_one_neutral_mark() -> None:
    png = _drawn([FeelingPoint(DAY + timedelta(days=i), 5, 5) for i in range(3)], title="Same")
    colours = _plot_colours(png)
    assert SAME in colours
    assert EASED not in colours
    assert STRONGER not in colours


def test_nothing_alarming_red() -> None:
    image = _open(_drawn(_points(60), title="Calm")).convert("RGB")
    reds = [c for _n, c in image.getcolors(maxcolors=1 << 20) or [] if c[0] > 180 and c[1] < 110 and c[2] < 110]
    assert reds == []


def test_many_entries_are_averaged_and_date_labels_thinned(catalog: Catalog) -> None:
    points = _points(500)
    chart = _Chart(sorted(points, key=lambda p: p.day), "Many", 800, 450, chart_words(catalog.texts))
    assert len(chart.marks) <= 60
    labels = chart._x_labels()
    assert 2 <= len(labels) <= 8
    lefts = [left for left, _text in labels]
    assert lefts == sorted(lefts)
    assert "groups of" in chart._subtitle()


def test_date_labels_never_overlap(catalog: Catalog) -> None:
    for count in (1, 2, 7, 31, 120, 500):
        chart = _Chart(sorted(_points(count), key=lambda p: p.day), "t", 800, 450, chart_words(catalog.texts))
        labels = chart._x_labels()
        boxes = [(left, left + chart.small_font.getlength(text)) for left, text in labels]
        assert all(a[1] < b[0] for a, b in itertools.pairwise(boxes))
        assert all(chart.left <= a and b <= chart.right for a, b in boxes)


def test_no_points_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one point"):
        _drawn([], title="Nothing")


def test_a_tiny_size_is_an_error() -> None:
    with pytest.raises(ValueError, match="too small"):
        _drawn(_points(3), title="t", width=100, height=50)


@pytest.mark.parametrize(
    "title",
    ["🌱 Before → after 😊", "👨‍👩‍👧 family", "Жизнь — 中文 “quotes” café", "", "x" * 400, "\u200d\ufe0f\n\t"],
)
def test_any_title_is_drawn_without_crashing(title: str) -> None:
    assert _open(_drawn(_points(5), title=title)).size == (800, 450)


def test_values_off_the_scale_are_clamped_not_fatal() -> None:
    image = _open(_drawn([FeelingPoint(DAY, 14, -3)], title="Off the scale"))
    assert image.size == (800, 450)


def test_falls_back_to_the_bitmap_font_when_sizes_are_unsupported(monkeypatch: pytest.MonkeyPatch) -> None:
    bitmap = ImageFont.load_default_imagefont()

    def old_load_default(*args: object, **kwargs: object) -> ImageFont.ImageFont:
        if args or kwargs:
            raise TypeError("load_default() takes no arguments")  # Pillow < 10.1
        return bitmap

    monkeypatch.setattr(ImageFont, "load_default", old_load_default)
    png = _drawn(_points(10), title="Café 😊 → Жизнь")
    assert _open(png).size == (800, 450)


def test_the_words_on_the_chart_come_from_the_texts(catalog: Catalog) -> None:
    words = chart_words(catalog.texts)
    points = sorted(_points(500), key=lambda p: p.day)
    chart = _Chart(points, "t", 800, 450, words)
    assert chart._subtitle().startswith("500 entries in groups of")
    assert [label for _kind, label in chart._legend_rows()[0][1]] == ["before", "after", "eased", "same", "stronger"]
    assert chart._legend_rows()[1][1][0][1].startswith("average before: ")
    assert feelings_chart(points, title="t", words=replace(words, before="vorher")) != _drawn(points, title="t")
    other = _Chart(points, "t", 800, 450, replace(words, entries="{{ count }} Einträge", months=tuple("ABCDEFGHIJKL")))
    assert other._subtitle() == "500 Einträge · 20 K 2024 - 1 D 2026"
