"""deploy/Dockerfile and .dockerignore, read by a real Dockerfile parser: a multi-stage build
whose final image runs unprivileged, without the local-inference extra, and whose build
context leaves out everything local."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

from gptapi.cli.main import app as cli

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = DockerfileParser(path=str(ROOT / "deploy" / "Dockerfile"))
IGNORED = [
    line.strip()
    for line in (ROOT / ".dockerignore").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]

Instruction = dict[str, str]


def _stages() -> list[list[Instruction]]:
    stages: list[list[Instruction]] = []
    for instruction in DOCKERFILE.structure:
        if instruction["instruction"] == "FROM":
            stages.append([])
        if stages and instruction["instruction"] != "COMMENT":
            stages[-1].append(instruction)
    return stages


def _pattern(glob: str) -> re.Pattern[str]:
    """A .dockerignore pattern as Docker reads it: `**/` is any number of folders, `*` and
    `?` stay within one path segment, `[...]` is a character class."""
    regex = re.escape(glob).replace(r"\*\*/", "(?:.*/)?").replace(r"\*", "[^/]*")
    regex = regex.replace(r"\?", "[^/]").replace(r"\[", "[").replace(r"\]", "]")
    return re.compile(regex)


def _ignored(path: str) -> bool:
    """Whether Docker leaves `path` out of the build context: it or one of its parent folders
    matches a pattern, unless a later `!` pattern brings it back."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for line in IGNORED:
        pattern = _pattern(line.removeprefix("!"))
        if any(pattern.fullmatch(prefix) for prefix in prefixes):
            ignored = not line.startswith("!")
    return ignored


def test_the_build_has_stages_and_the_final_one_runs_unprivileged() -> None:
    stages = _stages()
    assert len(stages) >= 2
    final = stages[-1]
    users = [i["value"] for i in final if i["instruction"] == "USER"]
    assert users and users[-1] not in {"root", "0"}
    # What runs comes from earlier stages: no compilers or build tools in the final one.
    copies = [i["value"] for i in final if i["instruction"] == "COPY"]
    assert copies and all(c.startswith("--from=") for c in copies)


def test_the_image_installs_the_package_without_the_local_inference_extra() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    local = {requirement.split(">")[0].split("=")[0] for requirement in extras["local"]}
    assert local == {"xllamacpp", "pocketsphinx"}  # the local engines: llama.cpp, speech to text
    installs = [
        i["value"]
        for i in DOCKERFILE.structure
        if i["instruction"] == "RUN" and "pip install" in i["value"]
    ]
    assert installs
    # The package itself, with only the extras the EXTRAS build argument names: none unless
    # asked for, and never the local-inference wheel or its model.
    [extras_arg] = [i["value"] for i in DOCKERFILE.structure if i["instruction"] == "ARG"]
    assert extras_arg == 'EXTRAS=""'
    for command in installs:
        words = shlex.split(command)
        assert ".${EXTRAS:+[$EXTRAS]}" in words
        assert not any(word in local or "local" in word or "smollm2" in word for word in words)
    env = DOCKERFILE.envs
    assert env["LOCAL_INFERENCE"] == "off"
    assert env["ENVIRONMENT"] == "production"


def test_the_image_runs_a_real_command_and_checks_liveness() -> None:
    commands = {c.name or c.callback.__name__ for c in cli.registered_commands if c.callback}
    assert json.loads(DOCKERFILE.cmd)[0] in commands
    instructions = {i["instruction"]: i["value"] for i in DOCKERFILE.structure}
    assert json.loads(instructions["ENTRYPOINT"]) == ["gptapi"]
    assert "/livez" in instructions["HEALTHCHECK"]


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        "web/node_modules/react/index.js",
        "var/secret_key",
        "var/first-run.txt",
        ".git/HEAD",
        ".env",
        ".env.production",
        "src/gptapi/__pycache__/app.cpython-311.pyc",
        ".mypy_cache/3.11/x.json",
        ".pytest_cache/v/cache",
        ".ruff_cache/x",
    ],
)
def test_the_build_context_leaves_out_local_state(path: str) -> None:
    assert _ignored(path)


def test_everything_the_build_copies_is_in_the_context() -> None:
    sources: list[str] = []
    for instruction in DOCKERFILE.structure:
        if instruction["instruction"] == "COPY" and "--from=" not in instruction["value"]:
            sources.extend(shlex.split(instruction["value"])[:-1])
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not _ignored(source), source
    kept_files = ["src/gptapi/app.py", "web/src/main.tsx", "web/package-lock.json", ".env.example"]
    for kept in kept_files:
        assert (ROOT / kept).exists() and not _ignored(kept), kept
