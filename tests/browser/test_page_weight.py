"""The calculator page with a result, and everything it loads, stays under 60 KB (uncompressed).

Measured on the heaviest ordinary pages: a risk with its interpretation, the not-applicable answer
(Ki-67 30 %), in both languages.
"""

from __future__ import annotations

import re
import urllib.parse
import urllib.request

import pytest

BUDGET = 60 * 1024


@pytest.mark.parametrize("ki67", ["5", "30"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_page_with_a_result_and_its_assets_weigh_under_60_kb(server, ki67, lang):
    findings = {"surface_depression": "1", "ki67_percent": ki67, "cga_positive": "1", "lang": lang}
    form = urllib.parse.urlencode(findings).encode()
    with urllib.request.urlopen(urllib.request.Request(server.url + "/", data=form)) as response:
        html = response.read()
    assets = sorted(set(re.findall(rb'(?:src|href)="(/static/[^"]+)"', html)))
    assert {a.rsplit(b"/", 1)[-1] for a in assets} == {b"app.css", b"calculator.js"}
    total = len(html)
    for asset in assets:
        with urllib.request.urlopen(server.url + asset.decode()) as response:
            total += len(response.read())
    assert total < BUDGET, total
