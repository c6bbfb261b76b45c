"""The web console: the static build of `web/` served at `/`, with every other browser path
answered by its index.html so client-side routes survive a reload."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, HTMLResponse, Response

DIST = Path(__file__).parent / "dist"
# Paths that belong to the server; the console never claims them, even for a browser.
SERVER_PREFIXES = ("/api", "/v1", "/metrics", "/healthz", "/dev")
# Vite fingerprints everything under assets/, so a name never changes its content.
IMMUTABLE = "public, max-age=31536000, immutable"

MISSING_BUILD = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>GPT API</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto">
<h1>GPT API</h1>
<p>The API is running, but the web console has not been built.</p>
<p>Build it with <code>make web</code>
(or <code>cd web &amp;&amp; npm install &amp;&amp; npm run build</code>) and reload this page.
The API itself is at <code>/v1</code> and <code>/api</code>.</p>
</body></html>
"""


def _owned_by_server(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in SERVER_PREFIXES)


def _file_in(root: Path, path: str) -> Path | None:
    """The file under `root` that `path` names, never one outside it."""
    candidate = (root / path.lstrip("/")).resolve()
    if candidate.is_file() and candidate.is_relative_to(root.resolve()):
        return candidate
    return None


def mount_console(app: FastAPI, dist: Path = DIST) -> None:
    """Serve the console for every GET/HEAD the server's own routes do not claim."""

    @app.api_route("/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
    async def console(request: Request, path: str) -> Response:
        url_path = "/" + path
        if _owned_by_server(url_path):
            raise HTTPException(404)
        index = dist / "index.html"
        if not index.is_file():
            return HTMLResponse(MISSING_BUILD)
        found = _file_in(dist, url_path) if path else None
        if found is not None:
            immutable = url_path.startswith("/assets/")
            headers = {"cache-control": IMMUTABLE if immutable else "no-cache"}
            return FileResponse(found, headers=headers)
        if "text/html" not in request.headers.get("accept", "") and "." in path.rsplit("/", 1)[-1]:
            raise HTTPException(404)
        return FileResponse(index, headers={"cache-control": "no-cache"})
