"""The stylesheet and script go out without comments and indentation, and nothing else changes."""

from __future__ import annotations

from app.resources import resource_dir
from app.web.static_assets import compact_css, compact_js


def test_css_compaction_keeps_every_rule_and_the_descendant_space_before_a_colon():
    source = """/* a comment */
.a > .b ,  .c { color: red;  margin: 0 }
a :hover { x: y; }
@media (min-width: 900px) {
  .d { font-family: "Segoe UI", sans-serif; }  /* trailing */
}
"""
    assert compact_css(source) == (
        '.a>.b,.c{color: red;margin: 0}a :hover{x: y}@media (min-width: 900px){.d{font-family: "Segoe UI",sans-serif}}\n'
    )


def test_js_compaction_drops_whole_line_comments_and_indentation_only():
    source = """/* A header
   over two lines */
(function () {
  "use strict";
  // a line comment
  var url = "http://x/*y*/";  /* kept: the line holds code */
  /* one-line comment */ var z = 1;
  return url
    + z;
}());
"""
    assert compact_js(source) == (
        '(function () {\n"use strict";\nvar url = "http://x/*y*/";  /* kept: the line holds code */\n'
        "var z = 1;\nreturn url\n+ z;\n}());\n"
    )


def test_the_served_assets_are_the_compacted_sources_with_an_etag(client):
    for path, compact, media in (
        ("css/app.css", compact_css, "text/css; charset=utf-8"),
        ("js/calculator.js", compact_js, "text/javascript; charset=utf-8"),
    ):
        source = (resource_dir("static") / path).read_text(encoding="utf-8")
        response = client.get(f"/static/{path}")
        assert response.status_code == 200
        assert response.headers["content-type"] == media
        assert response.text == compact(source)
        assert len(response.content) < 0.92 * len(source.encode())
        assert response.headers["x-content-type-options"] == "nosniff"  # the security headers still apply
        again = client.get(f"/static/{path}", headers={"if-none-match": response.headers["etag"]})
        assert (again.status_code, again.content) == (304, b"")
        assert client.head(f"/static/{path}").status_code == 200
    other = client.get("/static/example/embed-host.js")
    assert other.status_code == 200
    assert other.text == (resource_dir("static") / "example" / "embed-host.js").read_text(encoding="utf-8")
