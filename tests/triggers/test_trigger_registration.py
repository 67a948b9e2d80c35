"""Every trigger the package defers to is in a module the provider registers (provider_info's
``triggers``): Airflow lists registered triggers, and a deployment that checks them finds ours."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from airflow.triggers.base import BaseTrigger

import exotel_provider.triggers
from exotel_provider.provider_info import get_provider_info


def trigger_modules() -> set[str]:
    """The package's modules defining a trigger class that is not only a base of others."""
    found = set()
    for info in pkgutil.iter_modules(exotel_provider.triggers.__path__, "exotel_provider.triggers."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseTrigger) and cls.__module__ == module.__name__ and not cls.__subclasses__():
                found.add(module.__name__)
    return found


def test_every_trigger_module_is_registered():
    [registered] = get_provider_info()["triggers"]
    assert trigger_modules() >= {"exotel_provider.triggers.campaign", "exotel_provider.triggers.exotel"}
    assert set(registered["python-modules"]) == trigger_modules()
