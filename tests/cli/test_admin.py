"""`gptapi admin`: everything an operator needs before any web console exists."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.databases import BACKENDS, fresh_database

GPTAPI = str(Path(sys.executable).parent / "gptapi")


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path) as url:
        yield url


def run(url: str, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    result = subprocess.run(
        [GPTAPI, "admin", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    if ok:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_operator_workflow(database_url: str) -> None:
    created = run(database_url, "users", "create", "Ada@Example.com", "--name", "Ada")
    assert "ada@example.com" in created.stdout
    duplicate = run(database_url, "users", "create", "ada@example.com", ok=False)
    assert duplicate.returncode == 2 and "already exists" in duplicate.stderr

    run(database_url, "credit", "grant", "ada@example.com", "25", "--reason", "welcome")
    run(database_url, "credit", "grant", "--reason", "correction", "--", "ada@example.com", "-0.50")
    balances = run(database_url, "balances").stdout
    assert "$24.500000000" in balances and "True" in balances and "False" not in balances
    bad_amount = run(
        database_url, "credit", "grant", "ada@example.com", "lots", "--reason", "x", ok=False
    )
    assert bad_amount.returncode != 0 and "dollar amount" in bad_amount.stderr

    key = run(
        database_url,
        "keys",
        "create",
        "ada@example.com",
        "--name",
        "ci",
        "--rpm",
        "60",
        "--tpm",
        "100000",
        "--expires-in-days",
        "30",
    )
    secret = key.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"gpt_live_[A-Za-z0-9_-]{43}", secret)
    listing = run(database_url, "keys", "list", "ada@example.com").stdout
    assert "ci" in listing and "active" in listing and secret not in listing
    prefix = secret[:21]
    assert prefix in listing
    run(database_url, "keys", "revoke", prefix)
    assert "revoked" in run(database_url, "keys", "list", "ada@example.com").stdout

    run(database_url, "orgs", "create", "Acme", "--owner", "ada@example.com")
    assert "Acme" in run(database_url, "orgs", "list").stdout
    run(database_url, "keys", "create", "Acme")
    assert "no organisation" in run(database_url, "keys", "create", "Nope", ok=False).stderr

    assert "model" in run(database_url, "usage", "--days", "7").stdout


def test_server_management(database_url: str) -> None:
    url = "http://10.0.0.7:8080"
    run(database_url, "servers", "add", "gpt-fast", url, "--api-key", "k")
    run(database_url, "servers", "add", "gpt-full", url + "/")
    assert "already" in run(database_url, "servers", "add", "gpt-fast", url, ok=False).stderr
    assert "no model" in run(database_url, "servers", "add", "gpt-9", url, ok=False).stderr
    assert "not an http" in run(database_url, "servers", "add", "embed", "ftp://x", ok=False).stderr
    run(database_url, "servers", "drain", url, "--model", "gpt-fast")
    listing = run(database_url, "servers", "list").stdout
    assert re.search(r"gpt-fast\s+http://10\.0\.0\.7:8080\s+draining", listing)
    assert re.search(r"gpt-full\s+http://10\.0\.0\.7:8080\s+active", listing)
    run(database_url, "servers", "undrain", url)
    assert "draining" not in run(database_url, "servers", "list").stdout
    run(database_url, "servers", "remove", url)
    assert url not in run(database_url, "servers", "list").stdout


def test_catalog_and_gpu_prices(database_url: str) -> None:
    listed = run(database_url, "catalog", "list").stdout
    assert re.search(r"^llama-3\.1-70b .* \$1\.99 +yes$", listed, re.MULTILINE), listed
    changed = run(database_url, "catalog", "set", "llama-3.1-70b", "--price", "2.19")
    assert "price_nanos_per_hour changed" in changed.stdout
    run(database_url, "catalog", "disable", "sdxl")
    listed = run(database_url, "catalog", "list").stdout
    assert re.search(r"^llama-3\.1-70b .* \$2\.19 +yes$", listed, re.MULTILINE), listed
    assert re.search(r"^sdxl .* no$", listed, re.MULTILINE), listed
    missing = run(database_url, "catalog", "set", "nope", "--price", "1", ok=False)
    assert missing.returncode == 2 and "No catalog entry" in missing.stderr
    added = run(
        database_url,
        *("catalog", "add", "llama-3.3-70b", "--name", "Llama 3.3 70B", "--category", "chat"),
        *("--gpu-type", "NVIDIA H100 80GB HBM3", "--price", "2.99", "--storage-gb", "50"),
        *("--image", "ghcr.io/ggml-org/llama.cpp:server-cuda", "--arg", "-hf", "--arg", "x/y"),
    )
    assert "added llama-3.3-70b at $2.99/hr" in added.stdout

    incomplete = run(database_url, "gpus", "set", "NVIDIA B200", "--memory-gb", "192", ok=False)
    assert incomplete.returncode == 2 and "--community" in incomplete.stderr
    run(
        database_url,
        *("gpus", "set", "NVIDIA B200", "--memory-gb", "192"),
        *("--community", "4.99", "--secure", "5.99"),
    )
    run(database_url, "gpus", "storage", "0.003")
    gpus = run(database_url, "gpus", "list").stdout
    assert re.search(r"^NVIDIA B200 +192 GB +\$4\.99 +\$5\.99 +yes$", gpus, re.MULTILINE), gpus
    assert "storage: $0.003000000 per GB-hour" in gpus
