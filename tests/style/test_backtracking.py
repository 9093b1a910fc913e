"""The probe strings that time a hand-written regular expression before a pack is used."""

from __future__ import annotations

import re

import pytest

from newsroom.style.backtracking import Prober, find_slow


def test_probes_pump_one_repetition_after_the_text_that_leads_to_it() -> None:
    probes = Prober(r"\bfoo(a|aa)+$", 0).probes(12)
    assert "foo" + "a" * 12 + "!" in probes
    assert all(p.startswith("foo") for p in probes)


def test_probes_follow_each_alternative_and_class() -> None:
    probes = Prober(r"(?:ab|c[0-9])+\s*(?:y|z)", 0).probes(4)
    assert {"abab!", "c0c0!", "ab    !"} <= set(probes)


def test_a_pattern_without_repetition_has_no_probes() -> None:
    assert Prober(r"\b(?:word|other) thing\b", re.IGNORECASE).probes(64) == []


@pytest.mark.timeout(60)
@pytest.mark.parametrize("regex", [r"(a|aa)+$", r"(\w+\s?)+$", r"^(a+)+$", r"(x+x+)+y", r"(?:a*)*b",
                                   r"(?:a|b|ab)*c", r"((ab)*)+c", r"(.*,){12}X", r"\bfoo(a+)+$"])
def test_catastrophic_patterns_are_found_quickly(regex: str) -> None:
    slow = find_slow(re.compile(regex), ["fine", regex], 0)
    assert slow is not None and slow.index == 1
    assert len(slow.probe) < 100  # caught on a short probe, long before it runs away


@pytest.mark.parametrize("regex", [r"\b\w+ly\b", r"\s+$", r"(?:[A-Z]\w*)(?:\s+[A-Z]\w*)*\s+experts\b",
                                   r"\d{1,3}(?:,\d{3})+", r"\[[^\]]*\]", r"(\w+,\s*)+\.$", r"\b(\w+\s+)*said\b"])
def test_linear_patterns_pass(regex: str) -> None:
    assert find_slow(re.compile(regex), [regex], 0) is None


def test_one_run_the_scheduler_preempted_is_not_a_slow_pattern(monkeypatch: pytest.MonkeyPatch) -> None:
    import newsroom.style.backtracking as backtracking

    runs: list[str] = []
    real = backtracking._time

    def preempted_once(pattern: re.Pattern[str], text: str) -> float:
        runs.append(text)
        return 1.0 if len(runs) == 3 else real(pattern, text)  # the third probe lost the CPU for a second

    monkeypatch.setattr(backtracking, "_time", preempted_once)
    linear = r"\b(\w+\s+)*said\b"
    assert find_slow(re.compile(linear), [linear], 0) is None
    assert runs[3] == runs[2]  # the slow probe was timed again


def test_a_pattern_re_cannot_parse_is_left_to_the_compiler() -> None:
    assert find_slow(re.compile("a"), ["(unclosed"], 0) is None
