"""The Exotel connection form: the same fields, of the same kinds, in Airflow 3.2+'s ``conn-fields`` and
in the hook's wtforms widgets that Airflow 3.1 reads."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from exotel_provider.connection_form import CONN_FIELDS, legacy_connection_form_widgets
from exotel_provider.provider_info import get_provider_info

SETTINGS_KEYS = {"account_sid", "region", "caller_id", "timeout", "requests_per_minute", "mask_phone_numbers"}


def _kind(schema_type: list[str]) -> str:
    """What a field asks for: a checkbox, a whole number, or text (wtforms has no float field)."""
    return next((kind for kind in ("boolean", "integer") if kind in schema_type), "string")


def test_the_form_has_a_field_for_every_documented_connection_setting():
    assert set(CONN_FIELDS) >= SETTINGS_KEYS
    assert CONN_FIELDS["mask_phone_numbers"]["schema"] == {"type": ["boolean", "null"], "default": True}
    [connection_type] = get_provider_info()["connection-types"]
    assert connection_type["conn-fields"] is CONN_FIELDS


class _Field:
    def __init__(self, label: str, **options: Any) -> None:
        self.label, self.options = label, options


def _fake_form_modules() -> dict[str, types.ModuleType]:
    """wtforms, flask_babel and Flask-AppBuilder as Airflow 3.1's form code uses them (not installed here)."""
    wtforms = types.ModuleType("wtforms")
    for name in ("BooleanField", "IntegerField", "StringField"):
        setattr(wtforms, name, type(name, (_Field,), {}))
    validators = types.ModuleType("wtforms.validators")
    validators.Optional = type("Optional", (), {})  # type: ignore[attr-defined]
    babel = types.ModuleType("flask_babel")
    babel.lazy_gettext = str  # type: ignore[attr-defined]
    fab = types.ModuleType("flask_appbuilder")
    widgets = types.ModuleType("flask_appbuilder.fieldwidgets")
    widgets.BS3TextFieldWidget = type("BS3TextFieldWidget", (), {})  # type: ignore[attr-defined]
    return {
        "wtforms": wtforms,
        "wtforms.validators": validators,
        "flask_babel": babel,
        "flask_appbuilder": fab,
        "flask_appbuilder.fieldwidgets": widgets,
    }


def test_legacy_widgets_have_the_same_keys_kinds_and_defaults(monkeypatch: pytest.MonkeyPatch):
    for name, module in _fake_form_modules().items():
        monkeypatch.setitem(sys.modules, name, module)

    widgets = legacy_connection_form_widgets()

    assert list(widgets) == list(CONN_FIELDS)
    for name, spec in CONN_FIELDS.items():
        field = widgets[name]
        expected = {"boolean": "BooleanField", "integer": "IntegerField"}.get(
            _kind(spec["schema"]["type"]), "StringField"
        )
        assert type(field).__name__ == expected, name
        assert field.label == spec["label"]
        assert field.options["default"] == spec["schema"].get("default")


def test_airflow_serves_every_field_with_its_kind():
    """Through Airflow's own connection-form service: conn-fields on 3.2+, the hook's widgets on 3.1."""
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    _, widgets, behaviour = HookMetaService._get_hooks_with_mocked_fab()

    served = {
        info.field_name: info.field for key, info in widgets.items() if key.startswith("extra__exotel__")
    }
    assert set(served) == set(CONN_FIELDS)
    for name, field in served.items():
        schema = field["schema"] if isinstance(field, dict) else field.param.schema
        assert _kind(schema["type"]) == _kind(CONN_FIELDS[name]["schema"]["type"]), name
    assert behaviour["exotel"]["hidden_fields"] == ["schema", "port"]
