"""The public price list: the models anyone can call and what they cost, for the landing page
and documentation before a visitor has an API key."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel

from gptapi.gateway.catalog import ModelCatalog
from gptapi.kit.money import millis_to_decimal

router = APIRouter(tags=["catalog"])


class ModelPricing(BaseModel):
    currency: Literal["USD"] = "USD"
    unit: Literal["1M tokens"] = "1M tokens"
    input: Decimal
    output: Decimal


class PublicModel(BaseModel):
    id: str
    name: str
    type: str
    description: str
    pricing: ModelPricing


class ModelList(BaseModel):
    data: list[PublicModel]


@router.get("/models", summary="Models and their prices (public)")
async def list_models(request: Request) -> ModelList:
    catalog: ModelCatalog = request.app.state.serving.catalog
    return ModelList(
        data=[
            PublicModel(
                id=m.internal_name,
                name=m.name,
                type=m.kind,
                description=m.description,
                pricing=ModelPricing(
                    input=millis_to_decimal(m.input_price),
                    output=millis_to_decimal(m.output_price),
                ),
            )
            for m in catalog.all()
        ]
    )
