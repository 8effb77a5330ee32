"""Docs as tests: doctests of every module, and every command and setting documented."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import pytest
from pydantic import BaseModel

import leadkit
from leadkit.cli.app import app
from leadkit.config import DestinationSettings, ServeSettings, SourceSettings, WarehouseSettings
from leadkit.systems import get_system, known_kinds

ROOT = Path(__file__).resolve().parent.parent
DOCS = "\n".join(p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(leadkit.__path__, "leadkit.")
    if not m.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"


def test_every_cli_command_is_documented() -> None:
    names = [c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands]
    assert names
    for name in names:
        assert re.search(rf"leadkit {name}\b", DOCS), f"`leadkit {name}` is not documented"


def _settings(model: type[BaseModel]) -> list[str]:
    return list(model.model_fields)


def _destination_settings() -> list[type[BaseModel]]:
    """Every destination kind's settings model (kinds not built yet are left out)."""
    out: list[type[BaseModel]] = [DestinationSettings]
    for kind in known_kinds("destination"):
        try:
            model = get_system(kind, "destination").destination_settings
        except ImportError:
            continue
        if model is not None:
            out.append(model)
    return out


@pytest.mark.parametrize(
    "model",
    [WarehouseSettings, ServeSettings, SourceSettings]
    + [get_system(k).settings for k in known_kinds("source")]
    + _destination_settings(),
    ids=lambda m: m.__name__,
)
def test_every_setting_is_documented(model: type[BaseModel]) -> None:
    config_doc = (ROOT / "docs" / "configuration.md").read_text()
    for name in _settings(model):
        assert f"`{name}`" in config_doc, (
            f"{model.__name__}.{name} missing from docs/configuration.md"
        )


def test_readme_config_example_is_valid() -> None:
    """The leadkit.toml shown in the README parses, with its secrets from the environment."""
    import tomllib

    from leadkit.config import parse_config

    readme = (ROOT / "README.md").read_text()
    block = re.findall(r"```toml\n(.*?)```", readme, re.S)[0]
    names = re.findall(r"\$\{([A-Z0-9_]+)\}", block)
    config = parse_config(tomllib.loads(block), env={n: "s" * 40 for n in names})
    assert config.sources
    assert {d.kind for d in config.destinations.values()} == {"dialler", "realgeeks"}
