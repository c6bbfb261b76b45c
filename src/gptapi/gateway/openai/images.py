"""POST /v1/images/generations, in OpenAI's wire format, over image servers that speak
stable-diffusion.cpp's `sd-server` API (its OpenAI-compatible `/v1/images/generations`:
`prompt`, `n`, `size`, `output_format`, `output_compression` in; `{"created", "data":
[{"b64_json"}], "output_format"}` out).

Billed per image: the hold is `n` images at the price of the size asked, the charge the
images that came back. Every OpenAI field is honoured or refused with a 400 naming it;
the ones refused ask for something the servers cannot do (a transparent background, a
style, streaming, prompt moderation) or, for `response_format: "url"`, something the
platform does not keep (it stores no images: they are returned in the response, as
gpt-image-1 returns them).
"""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any, Literal

from pydantic import Field

from gptapi.gateway.catalog import CatalogModel
from gptapi.gateway.errors import OpenAIError, invalid_request
from gptapi.gateway.openai.plan import Plan
from gptapi.gateway.openai.protocol import NonEmptyStr, _Request, parse

log = logging.getLogger(__name__)

MAX_IMAGES = 10  # per request, as OpenAI allows
MAX_PROMPT_CHARACTERS = 32_000
# Sizes an unpriced-by-size model accepts: stable diffusion works in 64-pixel steps.
SIZE = re.compile(r"^([1-9][0-9]{1,3})x([1-9][0-9]{1,3})$")
MIN_SIDE, MAX_SIDE, SIDE_STEP = 64, 2048, 64


class ImageRequest(_Request):
    model: NonEmptyStr
    prompt: Annotated[str, Field(min_length=1, max_length=MAX_PROMPT_CHARACTERS)]
    n: Annotated[int, Field(ge=1, le=MAX_IMAGES)] | None = None
    size: str | None = None
    quality: Literal["low", "medium", "high", "xhigh", "max", "auto", "standard", "hd"] | None = (
        None
    )
    response_format: Literal["url", "b64_json"] | None = None
    output_format: Literal["png", "jpeg", "webp", "gif", "svg"] | None = None
    output_compression: Annotated[int, Field(ge=0, le=100)] | None = None
    background: Literal["transparent", "opaque", "auto"] | None = None
    moderation: Literal["low", "auto"] | None = None
    style: Literal["vivid", "natural"] | None = None
    stream: bool | None = None
    partial_images: Annotated[int, Field(ge=0, le=3)] | None = None
    # End-user identifiers: kept out of the upstream request, they change nothing generated.
    user: str | None = None
    safety_identifier: str | None = None


def _unsupported(param: str, message: str) -> OpenAIError:
    return invalid_request(message, param=param, code="unsupported_value")


def _refuse_unsupported(request: ImageRequest) -> None:
    if request.response_format == "url":
        raise _unsupported(
            "response_format",
            "response_format 'url' is not supported: images are not stored, so they are "
            "returned in the response as base64. Use 'b64_json' (the default).",
        )
    if request.quality not in (None, "auto", "standard"):
        raise _unsupported(
            "quality",
            f"quality '{request.quality}' is not supported: images are generated at the "
            "model's one quality. Use 'auto' or 'standard', or leave it out.",
        )
    if request.output_format in ("gif", "svg"):
        raise _unsupported(
            "output_format",
            f"output_format '{request.output_format}' is not supported. Use 'png', 'jpeg' or "
            "'webp'.",
        )
    if request.background == "transparent":
        raise _unsupported(
            "background",
            "background 'transparent' is not supported: the models paint opaque images. "
            "Use 'opaque' or 'auto'.",
        )
    if request.moderation == "auto":
        raise _unsupported(
            "moderation",
            "moderation 'auto' is not supported: prompts and images are not filtered here. "
            "Use 'low', or leave it out.",
        )
    if request.style is not None:
        raise _unsupported("style", "style is not supported by this model.")
    if request.stream:
        raise _unsupported("stream", "Streaming image generation is not supported.")
    if request.partial_images:
        raise _unsupported(
            "partial_images", "partial_images needs streaming, which is not supported."
        )


def resolve_size(size: str | None, model: CatalogModel) -> tuple[str | None, int]:
    """The size to generate (None: the server's default) and one image's price."""
    if size == "auto":
        size = None
    if model.image_sizes:
        # Priced by size: only those sizes are offered, and `auto` is the first of them.
        chosen = size if size is not None else next(iter(model.image_sizes))
        price = model.image_cost(chosen)
        if price is None:
            offered = ", ".join(model.image_sizes)
            raise invalid_request(
                f"Invalid value for 'size': `{model.internal_name}` makes images of {offered} "
                f"(got {size!r}).",
                param="size",
                code="invalid_value",
            )
        return chosen, price
    if size is not None:
        match = SIZE.match(size)
        sides = [int(side) for side in match.groups()] if match else []
        if not sides or any(not MIN_SIDE <= side <= MAX_SIDE or side % SIDE_STEP for side in sides):
            raise invalid_request(
                f"Invalid value for 'size': expected 'auto' or WIDTHxHEIGHT, each side a "
                f"multiple of {SIDE_STEP} from {MIN_SIDE} to {MAX_SIDE} (got {size!r}).",
                param="size",
                code="invalid_value",
            )
    return size, model.image_price


class ImageSurface:
    endpoint = "images"
    path = "/v1/images/generations"
    kind = "image"

    def plan(
        self, body: dict[str, Any], model: CatalogModel, *, body_size: int, output_cap: int
    ) -> Plan:
        request = parse(ImageRequest, body)
        _refuse_unsupported(request)
        size, price = resolve_size(request.size, model)
        count = request.n or 1
        # What sd-server reads; everything else was honoured or refused above.
        payload: dict[str, Any] = {"prompt": request.prompt, "n": count}
        if size is not None:
            payload["size"] = size
        if request.output_format is not None:
            payload["output_format"] = request.output_format
        if request.output_compression is not None:
            payload["output_compression"] = request.output_compression
        return Plan(
            endpoint=self.endpoint,
            path=self.path,
            model=model,
            requested_model=request.model,
            payload=payload,
            images=count,
            image_price=price,
        )


def image_answer(plan: Plan, data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The client's response from the server's, and how many images it holds: those the
    server returned, never more than were asked (and held for)."""
    images = [
        {"b64_json": item["b64_json"]}
        for item in data.get("data") or ()
        if isinstance(item, dict) and isinstance(item.get("b64_json"), str) and item["b64_json"]
    ][: plan.images]
    if len(images) < plan.images:
        log.warning("image server returned %d of %d images", len(images), plan.images)
    created = data.get("created")
    answer: dict[str, Any] = {
        "created": created if isinstance(created, int) else 0,
        "data": images,
        "output_format": plan.payload.get("output_format", "png"),
    }
    if "size" in plan.payload:
        answer["size"] = plan.payload["size"]
    return answer, len(images)


def image_usage(images: int, priced: dict[str, Any]) -> dict[str, Any]:
    """OpenAI's image usage (token counts, zero here: images are billed per image) with the
    images billed and their cost."""
    return {
        "input_tokens": 0,
        "input_tokens_details": {"image_tokens": 0, "text_tokens": 0},
        "output_tokens": 0,
        "total_tokens": 0,
        "images": images,
        **priced,
    }
