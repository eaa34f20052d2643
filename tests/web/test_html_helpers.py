"""The shared HTML and header helpers (tests/conftest.py): every page test leans on them, so they must
see what a browser sees and fail where a browser would differ."""

from __future__ import annotations

import pytest

from tests.conftest import (
    by_id,
    csp_directives,
    csp_header,
    external_urls,
    inline_code,
    parse_html,
    select,
    select_one,
    text_of,
)


def test_void_and_self_closed_elements_do_not_swallow_their_siblings():
    root = parse_html(
        '<p id="a">one<br>two<input name="x" checked></p><p id="b">three</p><svg><line/><text>t</text></svg>'
    )
    assert text_of(by_id(root, "a")) == "onetwo"
    assert text_of(by_id(root, "b")) == "three"
    assert select_one(root, "input").attrs == {"name": "x", "checked": ""}
    assert select_one(root, "text").parent is select_one(root, "svg")


def test_entities_are_decoded_as_a_browser_decodes_them_and_make_no_elements():
    root = parse_html('<p title="&quot;x&quot; &amp; y">&lt;b&gt;bold&lt;/b&gt; &amp;amp;</p>')
    paragraph = select_one(root, "p")
    assert paragraph.get("title") == '"x" & y'
    assert paragraph.text == "<b>bold</b> &amp;"
    assert select(root, "b") == []


def test_raw_markup_does_make_elements():
    root = parse_html("<p>a <b>bold</b> word<script>var x = '<i>';</script></p>")
    assert [e.tag for e in select(root)] == ["p", "b", "script"]
    assert select_one(root, "script").text == "var x = '<i>';"  # script content is not parsed as markup
    assert text_of(select_one(root, "p")) == "a bold wordvar x = '<i>';"


def test_select_by_attribute_presence_value_and_class():
    html = '<div class="x y" data-k="1"></div><div class="y"></div><span class="x"></span>'
    assert len(select(html, cls="x")) == 2
    assert len(select(html, "div", cls="y")) == 2
    assert len(select(html, "div", {"data-k": True})) == 1
    assert len(select(html, "div", {"data-k": False})) == 1
    assert len(select(html, attrs={"data-k": "2"})) == 0


def test_select_one_and_by_id_fail_on_none_and_on_two():
    with pytest.raises(AssertionError):
        select_one("<p></p><p></p>", "p")
    with pytest.raises(AssertionError):
        by_id("<p id='a'></p>", "b")


def test_csp_directives_and_back():
    header = "default-src 'none'; img-src 'self' data:;frame-ancestors 'self' https://a.example.org ;"
    directives = csp_directives(header)
    assert directives == {
        "default-src": ["'none'"],
        "img-src": ["'self'", "data:"],
        "frame-ancestors": ["'self'", "https://a.example.org"],
    }
    assert csp_directives(csp_header(directives)) == directives
    with pytest.raises(AssertionError, match="twice"):
        csp_directives("script-src 'self'; script-src *")


def test_external_urls_and_inline_code_are_found():
    html = (
        '<link href="/static/a.css"><script src="//cdn.example.org/x.js"></script><img src="HTTPS://e.example.org/i">'
        '<a href="?lang=zh">zh</a><p style="color:red" onclick="x()">p</p><script>alert(1)</script>'
        '<style>p{}</style><a href="javascript:alert(1)">j</a>'
    )
    assert external_urls(html) == ["//cdn.example.org/x.js", "HTTPS://e.example.org/i"]
    assert len(inline_code(html)) == 5
    assert inline_code('<script src="/static/js/calculator.js" defer></script><p class="x">ok</p>') == []
