"""Figures in prose, normalised so that one fact written two ways compares equal.

A figure is a percentage (45%, 45 per cent, 4.5 percentage points), a sum of money (£2bn,
$1.5 million, 300 euros), a quantity with a unit (8,200 km, 0.18 kilograms, 2 GW) or a large
count (800,000; 2.4 million homes; 1.5m). Years, dates, ordinals and small counts are not figures.
Each is normalised to ``(kind, unit, value)``: "1.5m" and "1,500,000" are both 1500000.0,
"£2bn" and "£2 billion" are both (money, GBP, 2e9), "45%" and "45 per cent" are both (percent, %, 45).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_SCALE_WORD = r"thousand|million|billion|trillion|bn|tn|m|k"
SCALES = {"thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "billion": 1e9, "bn": 1e9, "trillion": 1e12,
          "tn": 1e12}
CURRENCY_SIGNS = {"£": "GBP", "$": "USD", "€": "EUR", "¥": "JPY", "us$": "USD"}
CURRENCY_WORDS = {"pounds": "GBP", "pound": "GBP", "sterling": "GBP", "dollars": "USD", "dollar": "USD",
                  "euros": "EUR", "euro": "EUR", "yen": "JPY", "usd": "USD", "gbp": "GBP", "eur": "EUR"}
# Units, each with the name figures are compared under (kilometres and km are one unit).
UNITS = {
    "km": "km", "kilometres": "km", "kilometers": "km", "kilometre": "km", "kilometer": "km",
    "miles": "mile", "mile": "mile", "m2": "m2", "square metres": "m2", "square meters": "m2", "sq km": "km2",
    "square kilometres": "km2",
    "metres": "m", "meters": "m", "metre": "m", "cm": "cm", "centimetres": "cm", "mm": "mm",
    "kg": "kg", "kilograms": "kg", "kilogram": "kg", "kilos": "kg", "tonnes": "t", "tonne": "t", "tons": "t",
    "grams": "g", "gram": "g", "litres": "l", "liters": "l", "litre": "l", "hectares": "ha", "hectare": "ha",
    "acres": "acre", "acre": "acre", "gw": "GW", "mw": "MW", "kw": "kW", "gwh": "GWh", "mwh": "MWh",
    "kwh": "kWh", "twh": "TWh", "degrees": "degree", "degree": "degree", "°c": "degree", "°f": "degreeF",
    "mph": "mph", "km/h": "km/h", "barrels": "barrel",
}
_UNIT_RE = "|".join(sorted((re.escape(u) for u in UNITS), key=len, reverse=True))
_FIGURE = re.compile(rf"""
    (?P<money>(?:(?P<sign>US\$|[£$€¥])\s?(?P<mnum>{_NUMBER})(?:\s?(?P<mscale>{_SCALE_WORD})\b)?)
      | (?:(?P<mnum2>{_NUMBER})\s?(?:(?P<mscale2>{_SCALE_WORD})\s)?(?P<cword>pounds|pound|sterling|dollars|dollar|
            euros|euro|yen|usd|gbp|eur)\b))
  | (?P<percent>(?P<pnum>{_NUMBER})\s?(?:%|per\s?cent\b|percent\b|(?P<points>percentage\s+points?\b|pp\b)))
  | (?P<qty>(?P<qnum>{_NUMBER})\s?(?:(?P<qscale>thousand|million|billion)\s)?(?P<unit>{_UNIT_RE})(?![\w]))
  | (?P<count>(?P<cnum>{_NUMBER})(?:\s?(?P<cscale>thousand|million|billion|trillion|bn|m)\b)?)
""", re.IGNORECASE | re.VERBOSE)
_YEAR = re.compile(r"(?:1[5-9]|20)\d\d$")


@dataclass(frozen=True)
class Figure:
    """One figure as written (``text``, offsets) and normalised (``kind``, ``unit``, ``value``)."""

    text: str
    kind: str  # percent | points | money | quantity | count
    unit: str
    value: float
    start: int
    end: int

    @property
    def key(self) -> tuple[str, str, float]:
        return self.kind, self.unit, round(self.value, 6)


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def _scaled(number: str, scale: str | None) -> float:
    return _number(number) * SCALES.get((scale or "").lower(), 1.0)


def _figure(m: re.Match[str]) -> Figure | None:
    text, start, end = m.group().strip(), m.start(), m.end()
    if m.group("money"):
        if m.group("sign"):
            unit = CURRENCY_SIGNS[m.group("sign").lower()]
            return Figure(text, "money", unit, _scaled(m.group("mnum"), m.group("mscale")), start, end)
        unit = CURRENCY_WORDS[m.group("cword").lower()]
        return Figure(text, "money", unit, _scaled(m.group("mnum2"), m.group("mscale2")), start, end)
    if m.group("percent"):
        return Figure(text, "points" if m.group("points") else "percent", "%", _number(m.group("pnum")), start, end)
    if m.group("qty"):
        unit = UNITS[m.group("unit").lower()]
        return Figure(text, "quantity", unit, _scaled(m.group("qnum"), m.group("qscale")), start, end)
    number, scale = m.group("cnum"), m.group("cscale")
    value = _scaled(number, scale)
    if scale is None and (_YEAR.match(number) or value < 1000):
        return None  # a year, or a small count
    if scale and scale.lower() == "m" and value < 1000:
        return None
    return Figure(text, "count", "", value, start, end)


def find_figures(text: str) -> list[Figure]:
    """Every figure in ``text``, in order."""
    out = []
    for m in _FIGURE.finditer(text):
        if m.start() > 0 and (text[m.start() - 1].isalnum() or text[m.start() - 1] in "-/"):
            continue  # part of a word, a code or a date (A4, 2024-05, 3/4)
        figure = _figure(m)
        if figure is not None:
            out.append(figure)
    return out


def same_figure(a: Figure, b: Figure, tolerance: float = 0.005) -> bool:
    """Whether two figures state the same fact (equal kind and unit, values within 0.5%)."""
    if a.kind != b.kind or (a.unit and b.unit and a.unit != b.unit):
        return False
    return abs(a.value - b.value) <= tolerance * max(abs(a.value), abs(b.value), 1e-9)
