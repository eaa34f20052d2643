"""The embed view inside an iframe on another origin: framing allowed, postMessage to that origin only."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator

import pytest

from tests.browser.conftest import Server, wait_until
from tests.conftest import csp_directives, csp_header, free_port

HOST_PAGE = """<!doctype html><html><head><title>intranet</title></head><body>
<iframe id="calc" src="{src}" width="800" height="900"></iframe>
<script>
window.received = [];
window.addEventListener("message", function (event) {{ window.received.push({{origin: event.origin, data: event.data}}); }});
</script></body></html>"""

EMBED_QUERY = "/embed?surface_depression=1&ki67_percent=5&cga_positive=1"


class HostSite:
    """A hospital intranet page on its own origin (127.0.0.1 and a port of its own), serving `pages`."""

    def __init__(self) -> None:
        port = free_port()
        self.origin = f"http://127.0.0.1:{port}"
        self.pages: dict[str, bytes] = {}
        pages = self.pages

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                body = pages.get(self.path.split("?")[0], b"")
                self.send_response(200 if body else 404)
                kind = {"js": "text/javascript", "css": "text/css"}.get(self.path.rsplit(".", 1)[-1], "text/html")
                self.send_header("content-type", kind)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def host_sites() -> Iterator[Callable[[], HostSite]]:
    """Makes host sites, each on a different origin; all are stopped after the test."""
    sites: list[HostSite] = []

    def make() -> HostSite:
        sites.append(HostSite())
        return sites[-1]

    yield make
    for site in sites:
        site.stop()


@pytest.fixture
def host_page(host_sites):
    site = host_sites()
    return site.origin, site.pages


def embed_frame(page):
    frames = [f for f in page.frames if "/embed" in f.url]
    assert len(frames) == 1, [f.url for f in page.frames]
    return frames[0]


def messages_until_sentinel(page, frame) -> list[dict]:
    """Every message the host received from the frame up to now, without waiting an arbitrary time.

    Once the calculator's script has shown the copy button, it has also posted (or not posted) its
    result: both happen in one synchronous function.  A sentinel posted from the same frame afterwards
    is delivered after any such message, so when the sentinel has arrived, nothing else is on the way.
    """
    wait_until(frame, "document.querySelector('#copy-summary') && !document.querySelector('#copy-summary').hidden")
    frame.evaluate("window.parent.postMessage({type: 'test-sentinel'}, '*')")
    wait_until(page, "window.received.some(function (m) { return m.data && m.data.type === 'test-sentinel'; })")
    received = page.evaluate("window.received")
    return received[: [m["data"].get("type") for m in received].index("test-sentinel")]


def test_embedded_calculator_posts_its_result_to_the_allowed_origin(browser_context_factory, host_page):
    origin, pages = host_page
    calculator = Server(env={"RNET_FRAME_ANCESTORS": origin})
    try:
        pages["/host.html"] = HOST_PAGE.format(src=calculator.url + EMBED_QUERY).encode()
        context = browser_context_factory(viewport={"width": 1000, "height": 1000})
        page = context.new_page()
        page.goto(origin + "/host.html")
        frame = page.frame_locator("#calc")
        assert "Demonstration model" in frame.locator(".banner").text_content()
        shown = embed_frame(page)
        received = messages_until_sentinel(page, shown)
        assert {m["origin"] for m in received} == {calculator.url}
        types = [m["data"]["type"] for m in received]
        assert types[0] == "rnet:ready" and types.count("rnet:result") == 1 and set(types) <= {
            "rnet:ready", "rnet:result", "rnet:resize"
        }  # fmt: skip
        message = next(m["data"] for m in received if m["data"]["type"] == "rnet:result")
        assert message["model"]["id"] == "rnet-demo-v1" and message["model"]["source"] == "synthetic-demo"
        # The numbers the frame shows.
        assert message["probability"] == float(shown.get_attribute("#result-data", "data-probability"))
        assert message["ci95"] == [float(shown.get_attribute("#result-data", a)) for a in ("data-ci-lo", "data-ci-hi")]
        assert message["findings"] == {"surface_depression": True, "ki67_percent": 5, "cga_positive": True}
        page.close()
    finally:
        calculator.stop()


def framed_without_frame_ancestors(context, calculator_url: str, host: HostSite, policies: list[list[str]]):
    """A page of `host` framing the calculator in a browser that ignores frame-ancestors (an old one):
    the directive is cut from the header on its way in, the rest of the policy stays."""

    def without_frame_ancestors(route) -> None:
        response = route.fetch()
        headers = {name.lower(): value for name, value in response.headers.items()}
        directives = csp_directives(headers["content-security-policy"])
        policies.append(directives.pop("frame-ancestors"))
        headers["content-security-policy"] = csp_header(directives)
        route.fulfill(response=response, headers=headers)

    page = context.new_page()
    page.route(calculator_url + "/embed**", without_frame_ancestors)
    host.pages["/host.html"] = HOST_PAGE.format(src=calculator_url + EMBED_QUERY).encode()
    page.goto(host.origin + "/host.html")
    frame = embed_frame(page)
    assert frame.query_selector("#calculator-form") is not None  # the calculator did load in the frame
    return page, frame


def test_result_is_not_posted_to_a_host_that_is_not_named(browser_context_factory, host_sites):
    """An old browser without frame-ancestors lets any page frame the calculator: the result must
    still reach only the RNET_FRAME_ANCESTORS origins (postMessage's targetOrigin, never "*")."""
    allowed, other = host_sites(), host_sites()
    calculator = Server(env={"RNET_FRAME_ANCESTORS": allowed.origin})
    try:
        context = browser_context_factory(viewport={"width": 1000, "height": 1000})
        policies: list[list[str]] = []
        page, frame = framed_without_frame_ancestors(context, calculator.url, other, policies)
        assert policies == [["'self'", allowed.origin]]  # the server refused the framing; the "old browser" ignored it
        assert messages_until_sentinel(page, frame) == []
        page.close()

        # The same page on the named origin (framing allowed by the unaltered header) gets the result.
        allowed.pages["/host.html"] = HOST_PAGE.format(src=calculator.url + EMBED_QUERY).encode()
        page = context.new_page()
        page.goto(allowed.origin + "/host.html")
        received = messages_until_sentinel(page, embed_frame(page))
        assert {m["origin"] for m in received} == {calculator.url}
        assert "rnet:result" in [m["data"]["type"] for m in received]
        page.close()
    finally:
        calculator.stop()


def test_result_is_posted_to_no_host_when_none_is_named(browser_context_factory, host_sites, server):
    context = browser_context_factory(viewport={"width": 1000, "height": 1000})
    policies: list[list[str]] = []
    page, frame = framed_without_frame_ancestors(context, server.url, host_sites(), policies)
    assert policies == [["'self'"]]
    assert messages_until_sentinel(page, frame) == []
    page.close()


def test_embedding_from_an_origin_not_named_is_blocked(browser_context_factory, host_page, server):
    origin, pages = host_page
    pages["/host.html"] = HOST_PAGE.format(src=server.url + "/embed").encode()
    context = browser_context_factory(viewport={"width": 1000, "height": 1000})
    page = context.new_page()
    page.goto(origin + "/host.html")  # returns after the load event, which waits for the iframe to finish
    assert len(page.frames) == 2
    assert [f.query_selector("#calculator-form") for f in page.frames] == [None, None]  # frame-ancestors refused it
    assert page.evaluate("window.received.length") == 0
    page.close()
