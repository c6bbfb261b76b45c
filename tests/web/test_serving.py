"""The console's static files at /: client-side routes reload, server paths stay the
server's, fingerprinted assets are cached for good, and a missing build explains itself."""

from __future__ import annotations

import base64
import gzip
import hashlib
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gptapi.console_web import mount_console

HTML = {"accept": "text/html,application/xhtml+xml"}


def _client(dist: Path) -> TestClient:
    app = FastAPI()

    @app.get("/api/config")
    async def config() -> dict[str, str]:
        return {"ok": "yes"}

    mount_console(app, dist)
    return TestClient(app)


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(
        "<!doctype html><title>console</title><script>document.title='x'</script>"
    )
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log(1)")
    (tmp_path / "assets" / "index-abc123.js.br").write_bytes(brotli_of("console.log(1)"))
    (tmp_path / "assets" / "index-abc123.js.gz").write_bytes(gzip.compress(b"console.log(1)"))
    (tmp_path / "favicon.svg").write_text("<svg/>")
    return tmp_path


def brotli_of(text: str) -> bytes:
    # A stand-in body: the server passes the build's .br file through untouched, never
    # decoding it, so only the headers and the bytes sent matter here.
    return b"\x0b\x06\x80" + text.encode() + b"\x03"


def test_client_routes_answer_with_the_index(dist: Path) -> None:
    client = _client(dist)
    for path in ("/", "/dashboard", "/dashboard/keys", "/verify-email?token=x", "/index.html"):
        response = client.get(path, headers=HTML)
        assert response.status_code == 200, path
        assert "<title>console</title>" in response.text
        assert response.headers["cache-control"] == "no-cache"


def test_html_carries_the_security_headers(dist: Path) -> None:
    headers = _client(dist).get("/dashboard", headers=HTML).headers
    policy = dict(part.split(" ", 1) for part in headers["content-security-policy"].split("; "))
    assert policy["default-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    # The inline theme script is allowed by its hash and nothing else inline is.
    digest = base64.b64encode(hashlib.sha256(b"document.title='x'").digest()).decode()
    assert policy["script-src"] == f"'self' 'sha256-{digest}'"
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_supabase_mode_lets_the_browser_reach_the_project(dist: Path) -> None:
    app = FastAPI()
    mount_console(app, dist, connect_sources=["https://abc.supabase.co"])
    policy = TestClient(app).get("/", headers=HTML).headers["content-security-policy"]
    assert "connect-src 'self' https://abc.supabase.co" in policy


def test_assets_are_sent_precompressed_when_the_browser_takes_it(dist: Path) -> None:
    client = _client(dist)
    path = "/assets/index-abc123.js"
    brotli = client.get(path, headers={"accept-encoding": "gzip, deflate, br"})
    assert brotli.headers["content-encoding"] == "br"
    assert brotli.headers["vary"] == "accept-encoding"
    assert brotli.headers["content-type"].startswith("text/javascript")
    assert brotli.headers["cache-control"] == "public, max-age=31536000, immutable"
    gzipped = client.get(path, headers={"accept-encoding": "gzip"})
    assert gzipped.headers["content-encoding"] == "gzip"
    assert gzipped.text == "console.log(1)"  # the client decoded the build's .gz
    plain = client.get(path, headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.text == "console.log(1)"


def test_the_api_is_never_compressed_by_the_console(dist: Path) -> None:
    response = _client(dist).get("/api/config", headers={"accept-encoding": "gzip, br"})
    assert "content-encoding" not in response.headers


def test_fingerprinted_assets_are_cached_for_good_and_others_revalidated(dist: Path) -> None:
    client = _client(dist)
    asset = client.get("/assets/index-abc123.js")
    assert asset.status_code == 200
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    icon = client.get("/favicon.svg")
    assert icon.text == "<svg/>"
    assert icon.headers["cache-control"] == "no-cache"


def test_server_paths_are_never_the_console(dist: Path) -> None:
    client = _client(dist)
    assert client.get("/api/config").json() == {"ok": "yes"}
    for path in ("/api/nothing", "/v1/nothing", "/metrics/x", "/healthz/x", "/dev/nothing"):
        assert client.get(path, headers=HTML).status_code == 404, path


def test_a_missing_file_is_404_not_the_index(dist: Path) -> None:
    client = _client(dist)
    assert client.get("/assets/gone-123.js").status_code == 404
    assert client.get("/robots.txt").status_code == 404


def test_files_outside_the_build_are_unreachable(dist: Path) -> None:
    secret = dist.parent / "secret.txt"
    secret.write_text("secret")
    client = _client(dist)
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/%2e%2e/%2e%2e/secret.txt"):
        assert "secret" not in client.get(path).text, path


def test_without_a_build_the_page_says_how_to_make_one(tmp_path: Path) -> None:
    response = _client(tmp_path / "dist").get("/", headers=HTML)
    assert response.status_code == 200
    assert "make web" in response.text
