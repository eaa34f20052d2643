"""The page's own stylesheet and script, served without their comments and indentation.

The calculator page and everything it loads must stay under 60 KB (a slow hospital network, a
phone on the ward); the sources keep their comments for the next developer, the wire does not
need them.  The compaction is deliberately conservative: whole-line comments and indentation
in the script (newlines are kept, so automatic semicolon insertion is unchanged), comments and
redundant spaces in the stylesheet.  Other files under /static are served as they are.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.resources import resource_dir

_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_CSS_SPACE_AROUND = re.compile(r"\s*([{};,>])\s*")


def compact_css(text: str) -> str:
    """Comments out, whitespace collapsed; spaces before ':' are kept ("a :hover" is not "a:hover")."""
    text = _CSS_COMMENT.sub("", text)
    text = re.sub(r"\s+", " ", text)
    text = _CSS_SPACE_AROUND.sub(r"\1", text)
    return text.replace(";}", "}").strip() + "\n"


def compact_js(text: str) -> str:
    """Whole-line comments and indentation out; every code line, and every line break, kept."""
    lines: list[str] = []
    in_comment = False
    for line in text.splitlines():
        stripped = line.strip()
        if in_comment:
            if "*/" not in stripped:
                continue
            stripped = stripped.split("*/", 1)[1].strip()
            in_comment = False
        elif stripped.startswith("/*"):
            if "*/" not in stripped:
                in_comment = True
                continue
            stripped = stripped.split("*/", 1)[1].strip()
        elif stripped.startswith("//"):
            continue
        if stripped:
            lines.append(stripped)
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


COMPACTED = {
    "css/app.css": ("text/css; charset=utf-8", compact_css),
    "js/calculator.js": ("text/javascript; charset=utf-8", compact_js),
}


def load_assets() -> dict[str, Asset]:
    """Read and compact once at start-up: the files are part of the release, not data that changes."""
    folder = resource_dir("static")
    assets = {}
    for name, (media_type, compact) in COMPACTED.items():
        body = compact((folder / name).read_text(encoding="utf-8")).encode("utf-8")
        assets[name] = Asset(body=body, media_type=media_type, etag=f'"{hashlib.sha256(body).hexdigest()[:32]}"')
    return assets


router = APIRouter()


async def _serve(request: Request, name: str) -> Response:
    asset: Asset = request.app.state.compacted_assets[name]
    headers = {"etag": asset.etag}  # as StaticFiles: validated by ETag, no Cache-Control
    if asset.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(content=asset.body, media_type=asset.media_type, headers=headers)


@router.api_route("/static/css/app.css", methods=["GET", "HEAD"], include_in_schema=False)
async def stylesheet(request: Request) -> Response:
    return await _serve(request, "css/app.css")


@router.api_route("/static/js/calculator.js", methods=["GET", "HEAD"], include_in_schema=False)
async def script(request: Request) -> Response:
    return await _serve(request, "js/calculator.js")
