"""The embed view inside an iframe on another origin: framing allowed, postMessage to that origin only."""

from __future__ import annotations

import http.server
import threading

import pytest

from tests.browser.conftest import Server, wait_until
from tests.conftest import free_port

HOST_PAGE = """<!doctype html><html><head><title>intranet</title></head><body>
<iframe id="calc" src="{src}" width="800" height="900"></iframe>
<script>
window.received = [];
window.addEventListener("message", function (event) {{ window.received.push({{origin: event.origin, data: event.data}}); }});
</script></body></html>"""


@pytest.fixture
def host_page():
    port = free_port()
    pages: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = pages.get(self.path, b"")
            self.send_response(200 if body else 404)
            self.send_header("content-type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", pages
    httpd.shutdown()
    httpd.server_close()


def test_embedded_calculator_posts_its_result_to_the_allowed_origin(browser_context_factory, host_page):
    origin, pages = host_page
    calculator = Server(env={"RNET_FRAME_ANCESTORS": origin})
    try:
        pages["/host.html"] = HOST_PAGE.format(
            src=calculator.url + "/embed?surface_depression=1&ki67_percent=5&cga_positive=1"
        ).encode()
        context = browser_context_factory(viewport={"width": 1000, "height": 1000})
        page = context.new_page()
        page.goto(origin + "/host.html")
        wait_until(page, "window.received.length > 0", seconds=15)
        received = page.evaluate("window.received")
        assert received[0]["origin"] == calculator.url
        message = received[0]["data"]
        assert message["type"] == "rnet-risk"
        assert 0 < message["probability"] < 1
        assert message["model"]["id"] == "rnet-demo-v1" and message["model"]["source"] == "synthetic-demo"
        frame = page.frame_locator("#calc")
        assert "Demonstration model" in frame.locator(".banner").text_content()
        page.close()
    finally:
        calculator.stop()


def test_embedding_from_an_origin_not_named_is_blocked(browser_context_factory, host_page, server):
    origin, pages = host_page
    pages["/host.html"] = HOST_PAGE.format(src=server.url + "/embed").encode()
    context = browser_context_factory(viewport={"width": 1000, "height": 1000})
    page = context.new_page()
    page.goto(origin + "/host.html")
    page.wait_for_timeout(1500)
    frame = page.frame(url=lambda u: "/embed" in u)
    has_form = frame is not None and frame.query_selector("#calculator-form") is not None
    assert not has_form  # CSP frame-ancestors refused the framing
    assert page.evaluate("window.received.length") == 0
    page.close()
