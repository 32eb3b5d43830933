"""Every setting is documented in the README, and settings are read only when asked."""

from pathlib import Path

import pytest

from stations.config import SETTINGS, load_settings
from stations.errors import ValidationError

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_documented(setting):
    assert f"`{setting.name}`" in README, f"setting {setting.name} is not in the README's settings table"
    assert setting.help


def test_environment_and_overrides():
    s = load_settings({"port": 9001}, environ={"STATIONS_CIRCUITY": "1.4"})
    assert s["port"] == 9001 and s["circuity"] == 1.4


def test_unknown_or_badly_typed_settings_are_named():
    with pytest.raises(ValidationError, match="nope"):
        load_settings({"nope": 1}, environ={})
    with pytest.raises(ValidationError, match="circuity"):
        load_settings(environ={"STATIONS_CIRCUITY": "fast"})
