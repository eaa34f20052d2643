#!/usr/bin/env python3
"""Benchmark: the calculator page's total transfer (uncompressed), with a result shown.

Counts the HTML of a filled-in calculator page plus every asset it links
(stylesheet, script), and names any request that would leave the server.
Prints figures; asserts nothing (the budget is 60 KB; a comparable R Shiny
calculator page is about 480 KB).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from fastapi.testclient import TestClient

from app.web import create_app


def main() -> None:
    client = TestClient(create_app())
    rows = []
    page = client.post("/", data={"surface_depression": "1", "ki67_percent": "4.5", "cga_positive": "1"})
    rows.append(("/ (with result)", len(page.content)))
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    outside = [a for a in assets if a.startswith(("http://", "https://", "//"))]
    for asset in sorted(set(a for a in assets if a.startswith("/static/"))):
        rows.append((asset, len(client.get(asset).content)))
    fragment = client.post(
        "/partials/result", data={"surface_depression": "1", "ki67_percent": "5", "cga_positive": "1"}
    )
    total = sum(size for _, size in rows)
    for name, size in rows:
        print(f"{name:<28} {size / 1024:8.1f} KB")
    print(f"{'total page':<28} {total / 1024:8.1f} KB  (budget 60 KB)")
    print(f"{'live update fragment':<28} {len(fragment.content) / 1024:8.1f} KB per change")
    print(f"external requests: {len(outside)} {outside if outside else ''}")


if __name__ == "__main__":
    main()
