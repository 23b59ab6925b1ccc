"""The API's documentation page at /docs, with Swagger UI served by the app itself.

FastAPI's own /docs loads Swagger UI from a CDN: blank on an offline machine, and a third-party script on our
pages. The `fastapi-offline` package ships the same Swagger UI files; they are served from /docs/assets.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"


def swagger_ui_folder() -> Path:
    """The folder holding swagger-ui-bundle.js and swagger-ui.css."""
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Serve /docs and its Swagger UI files (create the app with docs_url=None)."""
    app.mount(ASSETS_PATH, StaticFiles(directory=swagger_ui_folder()), name="docs-assets")

    @app.get(DOCS_PATH, include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} API",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url="data:,",
        )
