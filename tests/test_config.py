"""Documentation that must stay true: .env.example and the example fleet file."""

from __future__ import annotations

import re
from pathlib import Path

from gptapi.config import Settings
from gptapi.gateway.upstream.fleet import load_fleet_config

ROOT = Path(__file__).resolve().parent.parent
TEST_ONLY = {"TEST_POSTGRES_URL"}


def test_env_example_lists_every_setting() -> None:
    text = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))
    settings = {name.upper() for name in Settings.model_fields}
    assert settings - documented == set(), "settings missing from .env.example"
    assert documented - settings - TEST_ONLY == set(), ".env.example names unknown settings"


def test_env_example_values_parse(monkeypatch: object) -> None:
    values = dict(
        re.findall(r"^([A-Z][A-Z0-9_]+)=(.*)$", (ROOT / ".env.example").read_text(), re.MULTILINE)
    )
    settings = Settings(_env_file=None, **{k.lower(): v for k, v in values.items()})
    assert settings.port == 8000 and settings.local_inference == "auto"


def test_fleet_example_parses(monkeypatch: object) -> None:
    import os

    os.environ.setdefault("LLAMA_API_KEY", "secret")
    specs = load_fleet_config(ROOT / "fleet.example.toml")
    assert {s.model for s in specs} == {"gpt-fast", "gpt-full", "embed"}
    assert all(s.base_url.startswith("https://") and s.api_key for s in specs)
