from __future__ import annotations

import datetime as dt

import pytest

from newsroom.config import Price as SettingsPrice
from newsroom.roi.prices import Price, PriceBook, price_table
from newsroom.usage import Usage


def test_the_table_states_its_source_date_and_unit() -> None:
    table = price_table()
    assert "openai.com" in table["source"] and "anthropic.com" in table["source"]
    assert dt.date.fromisoformat(table["as_of"]) <= dt.date.today()
    assert table["currency"] == "USD"
    assert "1,000,000 tokens" in table["unit"]


def test_every_entry_is_sane() -> None:
    for name, entry in price_table()["models"].items():
        assert name == name.lower()
        assert entry["input"] > 0 and entry["output"] > 0
        assert 0 < entry.get("cached_input", entry["input"]) <= entry["input"]


def test_exact_name() -> None:
    assert PriceBook().lookup("gpt-4o-mini") == Price(input=0.15, output=0.60, cached_input=0.075)


@pytest.mark.parametrize(("model", "canonical"), [
    ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
    ("gpt-4o-2024-08-06", "gpt-4o"),
    ("claude-3-5-haiku-20241022", "claude-3-5-haiku"),
    ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
    ("claude-sonnet-4-20250514", "claude-sonnet-4"),
    ("claude-opus-4-1-20250805", "claude-opus-4-1"),
    ("openai/gpt-4o-mini", "gpt-4o-mini"),
    ("anthropic/claude-3-5-haiku-latest", "claude-3-5-haiku"),
    ("GPT-4o-Mini", "gpt-4o-mini"),
])
def test_dated_prefixed_and_cased_names_resolve(model: str, canonical: str) -> None:
    book = PriceBook()
    assert book.lookup(model) is not None
    assert book.lookup(model) == book.lookup(canonical)


@pytest.mark.parametrize("model", [
    "SmolLM2-135M-Instruct-Q4_1", "scripted", "gpt-4o-mini-turbo", "llama-3-70b", "", "claude",
])
def test_unknown_models_cost_none_never_zero(model: str) -> None:
    book = PriceBook()
    assert book.lookup(model) is None
    assert book.cost(model, Usage(input_tokens=1000, output_tokens=1000)) is None


def test_known_models_never_cost_zero_for_real_usage() -> None:
    book = PriceBook()
    for name in price_table()["models"]:
        cost = book.cost(name, Usage(input_tokens=10, output_tokens=10))
        assert cost is not None and cost > 0


def test_cost_arithmetic_with_cached_tokens() -> None:
    # 600 fresh * 0.15 + 400 cached * 0.075 + 500 out * 0.60 = 420 USD per 1M -> 0.00042
    usage = Usage(input_tokens=1000, cached_input_tokens=400, output_tokens=500)
    assert PriceBook().cost("gpt-4o-mini", usage) == pytest.approx(0.00042, abs=1e-12)


def test_cached_tokens_cost_the_input_rate_when_no_cached_rate_is_known() -> None:
    price = Price(input=2.0, output=4.0)
    assert price.cost(Usage(input_tokens=1_000_000, cached_input_tokens=500_000)) == pytest.approx(2.0)


def test_extra_prices_add_and_override() -> None:
    book = PriceBook({"scripted": {"input": 1.0, "output": 2.0},
                      "gpt-4o-mini": SettingsPrice(input=9.0, output=9.0)})
    assert book.cost("scripted", Usage(input_tokens=1_000_000, output_tokens=500_000)) == pytest.approx(2.0)
    assert book.lookup("gpt-4o-mini") == Price(input=9.0, output=9.0, cached_input=None)
    assert book.lookup("gpt-4o") == PriceBook().lookup("gpt-4o")


def test_extra_price_names_match_case_insensitively() -> None:
    book = PriceBook({"My-Local-Model": {"input": 1.0, "output": 1.0}})
    assert book.lookup("my-local-model") is not None
    assert book.lookup("My-Local-Model") is not None
