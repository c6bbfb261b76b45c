"""API key scopes (account keys on /api); the GPU cloud's catalog and price list in the
database, seeded with the prices they had as code; compute.charged reporting and the
running-cost low-balance warning

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_IMAGE = "ghcr.io/ggml-org/llama.cpp:server-cuda"
_A100, _RTX4090, _L40S = "NVIDIA A100 80GB PCIe", "NVIDIA GeForce RTX 4090", "NVIDIA L40S"
_CHAT_ARGS = ("-np", "4", "-c", "16384")

# slug, name, category, GPU, $/hour (nano-dollars), storage GB, description, Hugging Face model
_ENTRIES: tuple[tuple[str, str, str, str, int, int, str, str | None], ...] = (
    ("llama-3.1-70b", "Llama 3.1 70B Instruct", "chat", _A100, 1_990_000_000, 50,
     "Meta's 70B instruction model, Q4_K_M.", "bartowski/Meta-Llama-3.1-70B-Instruct-GGUF:Q4_K_M"),
    ("llama-3.1-8b", "Llama 3.1 8B Instruct", "chat", _RTX4090, 390_000_000, 20,
     "Meta's 8B instruction model, Q8_0.", "bartowski/Meta-Llama-3.1-8B-Instruct-GGUF:Q8_0"),
    ("mistral-7b", "Mistral 7B Instruct", "chat", _RTX4090, 450_000_000, 20,
     "Mistral AI's 7B instruction model v0.3, Q8_0.",
     "bartowski/Mistral-7B-Instruct-v0.3-GGUF:Q8_0"),
    ("qwen2.5-72b", "Qwen2.5 72B Instruct", "chat", _A100, 1_990_000_000, 50,
     "Alibaba's 72B instruction model, Q4_K_M.", "bartowski/Qwen2.5-72B-Instruct-GGUF:Q4_K_M"),
    ("qwen2.5-7b", "Qwen2.5 7B Instruct", "chat", _RTX4090, 450_000_000, 20,
     "Alibaba's 7B instruction model, Q8_0.", "bartowski/Qwen2.5-7B-Instruct-GGUF:Q8_0"),
    ("mixtral-8x7b", "Mixtral 8x7B Instruct", "chat", _A100, 1_790_000_000, 50,
     "Mistral AI's sparse mixture of experts, Q4_K_M.",
     "bartowski/Mixtral-8x7B-Instruct-v0.1-GGUF:Q4_K_M"),
    ("gemma-2-9b", "Gemma 2 9B Instruct", "chat", _RTX4090, 450_000_000, 20,
     "Google's 9B instruction model, Q8_0.", "bartowski/gemma-2-9b-it-GGUF:Q8_0"),
    ("deepseek-r1-distill-70b", "DeepSeek R1 Distill Llama 70B", "chat", _A100, 1_990_000_000,
     50, "Reasoning model distilled into Llama 70B, Q4_K_M.",
     "bartowski/DeepSeek-R1-Distill-Llama-70B-GGUF:Q4_K_M"),
    ("bge-m3", "BGE M3 embeddings", "embeddings", _RTX4090, 250_000_000, 10,
     "Multilingual dense embeddings, 1024 dimensions.", "gpustack/bge-m3-GGUF:Q8_0"),
    ("nomic-embed-text", "Nomic Embed Text v1.5", "embeddings", _RTX4090, 250_000_000, 10,
     "English embeddings with Matryoshka dimensions.",
     "nomic-ai/nomic-embed-text-v1.5-GGUF:Q8_0"),
    ("whisper-large-v3", "Whisper Large V3", "speech_to_text", _RTX4090, 350_000_000, 20,
     "OpenAI's speech recognition, 99 languages.", None),
    ("whisper-large-v3-turbo", "Whisper Large V3 Turbo", "speech_to_text", _RTX4090,
     350_000_000, 20, "Faster Whisper with a pruned decoder.", None),
    ("sdxl", "SDXL 1024px", "image", _RTX4090, 450_000_000, 30,
     "Stable Diffusion XL at 1024x1024.", None),
    ("flux-dev", "Flux Dev", "image", _L40S, 890_000_000, 50,
     "Black Forest Labs' 12B text-to-image model.", None),
    ("sd-3.5-large", "Stable Diffusion 3.5 Large", "image", _L40S, 890_000_000, 50,
     "Stability AI's 8B text-to-image model.", None),
    ("xtts-v2", "Coqui XTTS v2", "text_to_speech", _RTX4090, 350_000_000, 20,
     "Multilingual voice cloning text to speech.", None),
    ("kokoro-82m", "Kokoro 82M", "text_to_speech", _RTX4090, 250_000_000, 10,
     "Small, fast English text to speech.", None),
)  # fmt: skip

# GPU type, memory GB, Community and Secure Cloud nano-dollars per GPU-hour
_GPUS = (
    ("NVIDIA GeForce RTX 4090", 24, 350_000_000, 550_000_000),
    ("NVIDIA RTX A6000", 48, 490_000_000, 790_000_000),
    ("NVIDIA L40S", 48, 790_000_000, 990_000_000),
    ("NVIDIA A100 80GB PCIe", 80, 1_190_000_000, 1_640_000_000),
    ("NVIDIA H100 80GB HBM3", 80, 2_390_000_000, 2_990_000_000),
)
# $0.10 an hour for 50 GB, as the seed's pod form shows.
_STORAGE_NANOS_PER_GB_HOUR = 2_000_000


def _args(category: str, hf: str | None) -> list[str]:
    if hf is None:
        return []
    extra = ("--embedding",) if category == "embeddings" else _CHAT_ARGS
    return ["-hf", hf, "--host", "0.0.0.0", "--port", "8080", "-ngl", "99", "--metrics", *extra]


def _catalog_rows(now: datetime) -> list[dict[str, object]]:
    local: dict[str, object] = {
        "slug": "smollm2-135m",
        "name": "SmolLM2 135M Instruct",
        "category": "chat",
        "provider": "local",
        "gpu_type": "CPU",
        "gpu_count": 0,
        "price_nanos_per_hour": 50_000_000,
        "storage_gb": 0,
        "description": "A small chat model served by llama.cpp on this platform's own host.",
        "model": "smollm2-135m",
        "image": None,
        "args": [],
    }
    rows = [local]
    for slug, name, category, gpu, price, storage, description, hf in _ENTRIES:
        rows.append(
            {
                "slug": slug,
                "name": name,
                "category": category,
                "provider": "runpod",
                "gpu_type": gpu,
                "gpu_count": 1,
                "price_nanos_per_hour": price,
                "storage_gb": storage,
                "description": description,
                "model": None,
                "image": _IMAGE if hf else None,
                "args": _args(category, hf),
            }
        )
    return [
        {**row, "enabled": True, "position": i, "updated_at": now} for i, row in enumerate(rows)
    ]


def upgrade() -> None:
    # NULL scopes mean `inference` alone: every existing key keeps working as it did.
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scopes", sa.JSON(), nullable=True))

    entries = op.create_table(
        "compute_catalog_entries",
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("gpu_type", sa.String(length=100), nullable=False),
        sa.Column("gpu_count", sa.Integer(), nullable=False),
        sa.Column("price_nanos_per_hour", sa.BigInteger(), nullable=False),
        sa.Column("storage_gb", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("image", sa.String(length=255), nullable=True),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_compute_catalog_entries")),
    )
    gpus = op.create_table(
        "gpu_prices",
        sa.Column("gpu_type", sa.String(length=100), nullable=False),
        sa.Column("memory_gb", sa.Integer(), nullable=False),
        sa.Column("community_nanos_per_hour", sa.BigInteger(), nullable=False),
        sa.Column("secure_nanos_per_hour", sa.BigInteger(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("gpu_type", name=op.f("pk_gpu_prices")),
    )
    rates = op.create_table(
        "compute_rates",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("nanos", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_compute_rates")),
    )
    with op.batch_alter_table("deployment_runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reported_seconds", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("reported_nanos", sa.BigInteger(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("billing_accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("runway_state", sa.String(length=20), server_default="ok", nullable=False)
        )

    now = datetime.now(UTC)
    rows = _catalog_rows(now)
    if not op.get_context().as_sql:
        op.bulk_insert(entries, rows)
    else:
        # Rendering the script (scripts/001_schema.sql), a JSON value has no literal form:
        # `args` is written as text, which PostgreSQL reads into the json column.
        text, number = sa.String(), sa.BigInteger()
        seed = sa.table(
            "compute_catalog_entries",
            *(sa.column(name, text) for name in ("slug", "name", "category", "provider")),
            *(sa.column(name, text) for name in ("gpu_type", "description", "model", "image")),
            *(sa.column(name, number) for name in ("gpu_count", "price_nanos_per_hour")),
            *(sa.column(name, number) for name in ("storage_gb", "position")),
            sa.column("args", sa.Text()),
            sa.column("enabled", sa.Boolean()),
            sa.column("updated_at", sa.DateTime(timezone=True)),
        )
        op.bulk_insert(seed, [{**row, "args": json.dumps(row["args"])} for row in rows])
    op.bulk_insert(
        gpus,
        [
            {
                "gpu_type": gpu,
                "memory_gb": memory,
                "community_nanos_per_hour": community,
                "secure_nanos_per_hour": secure,
                "enabled": True,
                "updated_at": now,
            }
            for gpu, memory, community, secure in _GPUS
        ],
    )
    op.bulk_insert(
        rates,
        [{"name": "storage_per_gb_hour", "nanos": _STORAGE_NANOS_PER_GB_HOUR, "updated_at": now}],
    )


def downgrade() -> None:
    with op.batch_alter_table("billing_accounts", schema=None) as batch_op:
        batch_op.drop_column("runway_state")
    with op.batch_alter_table("deployment_runs", schema=None) as batch_op:
        batch_op.drop_column("reported_nanos")
        batch_op.drop_column("reported_seconds")
    op.drop_table("compute_rates")
    op.drop_table("gpu_prices")
    op.drop_table("compute_catalog_entries")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("scopes")
