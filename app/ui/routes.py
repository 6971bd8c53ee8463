"""Routes of the pages: ``/`` (inspect one completion or a JSONL file), ``/live`` (the service's metrics,
refreshing), ``/docs`` (Swagger UI on the packaged assets) and the fixed set of files they load.

The pages and their assets hold no data and are served without the token, like ``/docs``; everything they
show comes from ``/score`` and ``/metrics``, which they call with the token the user types in (kept in the
browser tab's session storage). A Content-Security-Policy of ``'self'`` keeps every page from loading
anything from another origin.
"""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from fastapi import APIRouter
from starlette.responses import FileResponse, Response

STATIC = Path(__file__).resolve().parent / "static"
SWAGGER = Path(swagger_ui_bundle.swagger_ui_path)

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}

# URL path -> (file, media type). Only these files are served: no path from a request reaches the disk.
FILES: dict[str, tuple[Path, str]] = {
    "/": (STATIC / "inspect.html", "text/html; charset=utf-8"),
    "/live": (STATIC / "live.html", "text/html; charset=utf-8"),
    "/docs": (STATIC / "docs.html", "text/html; charset=utf-8"),
    "/ui/common.css": (STATIC / "common.css", "text/css; charset=utf-8"),
    "/ui/common.js": (STATIC / "common.js", "text/javascript; charset=utf-8"),
    "/ui/inspect.js": (STATIC / "inspect.js", "text/javascript; charset=utf-8"),
    "/ui/live.js": (STATIC / "live.js", "text/javascript; charset=utf-8"),
    "/ui/docs.js": (STATIC / "docs.js", "text/javascript; charset=utf-8"),
    "/ui/swagger-ui-bundle.js": (SWAGGER / "swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    "/ui/swagger-ui.css": (SWAGGER / "swagger-ui.css", "text/css; charset=utf-8"),
    "/ui/favicon.png": (SWAGGER / "favicon-32x32.png", "image/png"),
}
UI_ROUTES = frozenset(FILES)

router = APIRouter(include_in_schema=False)


def _serve(path: str) -> Response:
    file, media_type = FILES[path]
    return FileResponse(file, media_type=media_type, headers=HEADERS)


def _route(path: str) -> None:
    async def page() -> Response:
        return _serve(path)

    page.__name__ = "ui_" + (path.strip("/").replace("/", "_").replace(".", "_").replace("-", "_") or "root")
    router.add_api_route(path, page, methods=["GET"])


for _path in FILES:
    _route(_path)
