"""The README's settings table against the service's Settings: every setting listed, nothing listed that is
not a setting, and each listed default the real one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.config import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
ROWS = [line for line in README.splitlines() if line.startswith("| `VREWARDS_")]


def listed() -> dict[str, str]:
    """Setting name -> the row's default cell (a row may name several settings, ``/``-separated)."""
    out = {}
    for row in ROWS:
        cells = [c.strip() for c in row.strip("|").split("|")]
        names = re.findall(r"`VREWARDS_(\w+)`", cells[0])
        defaults = [d.strip() for d in cells[1].split("/")]
        for i, name in enumerate(names):
            out[name.lower()] = defaults[i] if len(defaults) == len(names) else cells[1]
    return out


def test_every_setting_is_in_the_readme() -> None:
    assert set(listed()) == set(Settings.model_fields)


FIXED_DEFAULTS = sorted(
    name
    for name, field in Settings.model_fields.items()
    if field.default_factory is None and isinstance(field.default, int | float | str) and name != "workers"
)


@pytest.mark.parametrize("name", FIXED_DEFAULTS)
def test_listed_defaults_are_the_real_ones(name: str) -> None:
    default = Settings.model_fields[name].default
    shown = listed()[name].replace(",", "")
    if isinstance(default, bool):
        assert shown == str(default).lower(), name
    elif isinstance(default, int | float):
        assert float(shown) == pytest.approx(float(default)), name
    else:
        assert shown == default, name
