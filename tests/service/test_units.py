"""The service's pure parts, without a server: markdown rendering, the bind check, idempotency ids."""

from __future__ import annotations

import pytest

from newsroom.errors import ConfigError
from newsroom.service.routes import key_to_id
from newsroom.service.server import api_token, is_loopback
from newsroom.service.ui import render_markdown


def test_the_article_renders_without_raw_html_or_unsafe_links() -> None:
    text = ('---\ntitle: "x"\n---\n\n## Heading\n\nA <script>alert(1)</script> paragraph with '
            '<img src=x onerror=alert(2)> and [a link](javascript:alert(3)).\n\n<iframe src="http://evil"></iframe>\n')
    html = render_markdown(text)
    assert "<h2>Heading</h2>" in html
    assert "<script" not in html and "<img" not in html and "<iframe" not in html
    assert "&lt;script&gt;" in html
    assert 'href="javascript:' not in html
    assert "title:" not in html  # the front matter is not part of the page


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("10.0.0.5", False), ("myhost", False), ("localhost.example.org", False)])
def test_what_counts_as_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_the_token_is_required_off_loopback_and_must_be_long() -> None:
    assert api_token("127.0.0.1", {}) is None
    with pytest.raises(ConfigError, match="NEWSROOM_API_TOKEN"):
        api_token("0.0.0.0", {})
    with pytest.raises(ConfigError, match="at least 16"):
        api_token("0.0.0.0", {"NEWSROOM_API_TOKEN": "too-short"})
    assert api_token("0.0.0.0", {"NEWSROOM_API_TOKEN": "x" * 32}) == "x" * 32


def test_an_idempotency_key_maps_to_one_id() -> None:
    assert key_to_id("order-1") == key_to_id("order-1") != key_to_id("order-2")
    assert len(key_to_id("order-1")) == 16 and key_to_id("order-1").isalnum()
