"""The web layer: FastAPI application, pages, JSON API, SVG charts."""

from app.web.application import create_app

__all__ = ["create_app"]
