"""Every setting is documented in the README, and settings are read only when asked."""

from pathlib import Path

import pytest

from stations.config import SETTINGS, Settings, load_settings
from stations.errors import ValidationError

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_documented(setting):
    assert f"`{setting.name}`" in README, f"setting {setting.name} is not in the README's settings table"
    assert setting.help


def test_environment_and_overrides():
    s = load_settings({"port": 9001}, environ={"STATIONS_CIRCUITY": "1.4"})
    assert isinstance(s, Settings)
    assert s.port == 9001 and s.circuity == 1.4 and s["circuity"] == 1.4


def test_ini_file_is_read_below_the_environment(tmp_path):
    ini = tmp_path / "stations.ini"
    ini.write_text("[stations]\nmax_k = 250\nwalk_speed_kmh = 5\n", encoding="utf-8")
    s = load_settings(environ={"STATIONS_CONFIG": str(ini), "STATIONS_WALK_SPEED_KMH": "4.8"})
    assert s.max_k == 250 and s.walk_speed_kmh == 4.8
    assert s.speeds_m_s["walk"] == pytest.approx(4.8 / 3.6)


def test_defaults_are_the_dataclass_defaults():
    assert load_settings(environ={}) == Settings()


def test_unknown_badly_typed_or_out_of_range_settings_are_named():
    with pytest.raises(ValidationError, match="nope"):
        load_settings({"nope": 1}, environ={})
    with pytest.raises(ValidationError, match="circuity"):
        load_settings(environ={"STATIONS_CIRCUITY": "fast"})
    with pytest.raises(ValidationError) as err:
        load_settings({"max_k": 0, "circuity": 3.0, "walk_speed_kmh": -1, "refresh_s": 0}, environ={})
    assert {p.field for p in err.value.problems} == {"max_k", "circuity", "walk_speed_kmh", "refresh_s"}
    assert load_settings(environ={"STATIONS_REFRESH_S": "2"}).refresh_s == 2.0


def test_replace_checks_like_load():
    s = load_settings(environ={})
    assert s.replace(max_k=500).max_k == 500
    with pytest.raises(ValidationError, match="max_k"):
        s.replace(max_k="many")
