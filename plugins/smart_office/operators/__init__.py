"""Thin Airflow glue over smart_office.pipeline. Heavy imports happen inside execute(), never at parse time."""

from __future__ import annotations

from smart_office.operators.extraction import (
    CoverageCheckOperator,
    CoverageGateOperator,
    DiscoverCustomersOperator,
    ExtractShardOperator,
    MigrateWarehouseOperator,
    PartnerTokenCheckOperator,
)

__all__ = [
    "CoverageCheckOperator",
    "CoverageGateOperator",
    "DiscoverCustomersOperator",
    "ExtractShardOperator",
    "MigrateWarehouseOperator",
    "PartnerTokenCheckOperator",
]
