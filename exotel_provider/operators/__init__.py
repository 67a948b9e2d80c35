"""Airflow adapter: the operators, importable from here (each loads on first use)."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from exotel_provider.operators.exotel import ExotelConnectOperator
    from exotel_provider.operators.sms import ExotelSmsOperator

_MODULE_OF = {"ExotelConnectOperator": "exotel", "ExotelSmsOperator": "sms"}

__all__ = ["ExotelConnectOperator", "ExotelSmsOperator"]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
