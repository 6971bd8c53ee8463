"""docs/API.md against the service itself: every route, object, field, reward setting and metric the
service has is described there, and nothing described there is missing from the service."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path
from typing import Any, get_args, get_type_hints

import pytest

from app.config import Settings
from app.main import create_app
from app.metrics import Metrics
from app.scoring import WorkerPool
from rewards.config import COMPONENTS, RewardConfig

DOC = (Path(__file__).resolve().parents[2] / "docs" / "API.md").read_text(encoding="utf-8")
SPEC: dict[str, Any] = create_app(Settings(workers=1)).openapi()
SCHEMAS: dict[str, dict[str, Any]] = SPEC["components"]["schemas"]


def sections(level: str) -> dict[str, str]:
    """Heading text -> the text up to the next heading of the same or a higher level."""
    pattern = re.compile(rf"^{level} (.+)$", re.M)
    marks = list(pattern.finditer(DOC))
    out = {}
    for here, after in zip(marks, [*marks[1:], None], strict=True):
        body = DOC[here.end() : after.start() if after else len(DOC)]
        out[here.group(1).strip()] = re.split(r"^#{1,3} ", body, flags=re.M)[0]
    return out


def table_rows(text: str) -> dict[str, list[str]]:
    """First-column `code` name -> the row's other cells, for every table row in ``text``."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"`([^`]+)`", cells[0]) if line.startswith("|") else None
        if match:
            rows[match.group(1)] = cells[1:]
    return rows


OBJECTS = sections("###")
ROUTES = sections("##")


# ---------------------------------------------------------------------------------------------- routes
@pytest.mark.parametrize(
    "route", [f"{m.upper()} {p}" for p, ops in SPEC["paths"].items() for m in ops if m != "parameters"]
)
def test_every_route_has_a_section(route: str) -> None:
    assert route in ROUTES


def test_every_route_section_is_served() -> None:
    served = {f"{m.upper()} {p}" for p, ops in SPEC["paths"].items() for m in ops}
    documented = {name for name in ROUTES if re.fullmatch(r"(GET|POST|PUT|DELETE) /\S*", name)}
    assert documented <= served


# --------------------------------------------------------------------------------------------- objects
@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_object_is_described_field_by_field(name: str) -> None:
    assert name in OBJECTS, f"docs/API.md has no '### {name}' section"
    rows = table_rows(OBJECTS[name])
    schema = SCHEMAS[name]
    assert set(rows) == set(schema.get("properties", {})), name
    required = set(schema.get("required", []))
    for field_name, cells in rows.items():
        assert (cells[1] == "yes") == (field_name in required), f"{name}.{field_name}: required column"


def test_every_described_object_is_in_the_schema() -> None:
    described = {name for name in OBJECTS if re.fullmatch(r"[A-Z]\w+", name)}
    assert described <= set(SCHEMAS)


# --------------------------------------------------------------------------------------- rewards block
@pytest.mark.parametrize("component", COMPONENTS)
def test_every_reward_setting_is_described(component: str) -> None:
    klass = next(t for t in get_args(get_type_hints(RewardConfig)[component]) if t is not type(None))
    config = klass()
    section = OBJECTS.get(f"rewards.{component}")
    assert section is not None, f"docs/API.md has no '### rewards.{component}' section"
    rows = table_rows(section)
    wire = [f for f in fields(config) if f.metadata.get("wire", True)]  # settable in a request
    assert set(rows) == {f.name for f in wire}
    for f in wire:
        documented, actual = rows[f.name][1].strip('`"'), getattr(config, f.name)
        assert (float(documented) if isinstance(actual, int | float) else documented) == actual, f.name


def test_described_reward_components_exist() -> None:
    described = {name.split(".", 1)[1] for name in OBJECTS if name.startswith("rewards.")}
    assert described == set(COMPONENTS)


# --------------------------------------------------------------------------------------------- metrics
def test_metrics_table_matches_the_exposition() -> None:
    metrics = Metrics()
    metrics.attach(WorkerPool(workers=1, item_timeout_s=1.0))  # never started: only its counters are read
    exposed = set(re.findall(rb"^# TYPE (vrewards_\w+) ", metrics.render(), flags=re.M))
    names = {n.decode().removesuffix("_total") for n in exposed if not n.endswith(b"_created")}
    documented = set(table_rows(ROUTES["GET /metrics"]))
    assert documented == names
