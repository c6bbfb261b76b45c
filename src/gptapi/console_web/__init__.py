"""The web console: the static build of `web/` served at `/`, with every other browser path
answered by its index.html so client-side routes survive a reload.

Fingerprinted assets are sent precompressed (the build writes `.br` and `.gz` beside each) and
cached for good; HTML carries the security headers. Only the console's own route does this:
/v1 never goes through a compression layer."""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, HTMLResponse, Response

DIST = Path(__file__).parent / "dist"
# Paths that belong to the server; the console never claims them, even for a browser.
SERVER_PREFIXES = ("/api", "/v1", "/metrics", "/healthz", "/dev")
# Vite fingerprints everything under assets/, so a name never changes its content.
IMMUTABLE = "public, max-age=31536000, immutable"
# Precompressed siblings, best first: (Accept-Encoding token, suffix).
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))
INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)

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

BASE_HEADERS = {"x-content-type-options": "nosniff"}


def _owned_by_server(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in SERVER_PREFIXES)


def _file_in(root: Path, path: str) -> Path | None:
    """The file under `root` that `path` names, never one outside it."""
    candidate = (root / path.lstrip("/")).resolve()
    if candidate.is_file() and candidate.is_relative_to(root.resolve()):
        return candidate
    return None


@lru_cache(maxsize=4)
def _inline_script_hashes(index: Path, mtime: float) -> tuple[str, ...]:
    """CSP hashes of index.html's inline scripts (the theme is applied before first paint)."""
    del mtime  # part of the cache key: a rebuilt index is hashed again
    return tuple(
        "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
        for body in INLINE_SCRIPT.findall(index.read_bytes())
    )


def html_headers(index: Path | None, connect_sources: Iterable[str]) -> dict[str, str]:
    """What every HTML answer carries: a Content-Security-Policy allowing only this origin
    (plus `connect_sources`, e.g. the Supabase project in that mode), no framing, no MIME
    sniffing and no full URLs in Referer headers to other sites."""
    scripts = _inline_script_hashes(index, index.stat().st_mtime) if index else ()
    policy = [
        "default-src 'self'",
        "script-src " + " ".join(["'self'", *scripts]),
        # Radix and Motion position and animate with inline style attributes.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src " + " ".join(["'self'", *connect_sources]),
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    return {
        **BASE_HEADERS,
        "content-security-policy": "; ".join(policy),
        "x-frame-options": "DENY",
        "referrer-policy": "strict-origin-when-cross-origin",
        "cache-control": "no-cache",
    }


def _asset(found: Path, request: Request, immutable: bool) -> Response:
    headers = {**BASE_HEADERS, "cache-control": IMMUTABLE if immutable else "no-cache"}
    accepted = request.headers.get("accept-encoding", "")
    media_type = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
    for token, suffix in ENCODINGS:
        packed = found.with_name(found.name + suffix)
        if token in accepted and packed.is_file():
            headers |= {"content-encoding": token, "vary": "accept-encoding"}
            return FileResponse(packed, headers=headers, media_type=media_type)
    return FileResponse(found, headers=headers, media_type=media_type)


def mount_console(app: FastAPI, dist: Path = DIST, *, connect_sources: Iterable[str] = ()) -> None:
    """Serve the console for every GET/HEAD the server's own routes do not claim."""
    sources = tuple(connect_sources)

    @app.api_route("/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
    async def console(request: Request, path: str) -> Response:
        url_path = "/" + path
        if _owned_by_server(url_path):
            raise HTTPException(404)
        index = dist / "index.html"
        if not index.is_file():
            return HTMLResponse(MISSING_BUILD, headers=html_headers(None, sources))
        found = _file_in(dist, url_path) if path else None
        if found is not None and found != index.resolve():
            return _asset(found, request, immutable=url_path.startswith("/assets/"))
        if "text/html" not in request.headers.get("accept", "") and "." in path.rsplit("/", 1)[-1]:
            raise HTTPException(404)
        return FileResponse(index, headers=html_headers(index, sources))
