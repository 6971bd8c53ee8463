"""The helpers of scripts/check-image.sh that run without an image builder: the pip settings handed to the
builds (scripts/image/pip_passthrough.py) and the outside checks of the service container
(scripts/image/probe.py), the latter against the real service on a loopback port."""

from __future__ import annotations

import doctest
import importlib.util
import io
import sys
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from types import ModuleType

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts" / "image"


def load(name: str) -> ModuleType:
    """Import scripts/image/NAME.py (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"image_{name}", SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


passthrough = load("pip_passthrough")
probe = load("probe")


@pytest.mark.parametrize("module", [passthrough, probe], ids=lambda module: module.__name__)
def test_docstring_examples(module: ModuleType) -> None:
    # scripts/ is outside pytest's doctest paths, so the examples are run here.
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0


# ------------------------------------------------------------------------------ pip_passthrough: parsing
PARSE_CASES = [
    # one setting, from a config file
    ("global.find-links='/srv/wheels'\n", {"find-links": "/srv/wheels"}),
    # PIP_* variables win over [install], which wins over [global], whatever the order of the lines
    (":env:.find-links='/b'\nglobal.find-links='/a'\n", {"find-links": "/b"}),
    ("install.cert='/i.pem'\nglobal.cert='/g.pem'\n", {"cert": "/i.pem"}),
    # sections pip install does not read, and lines that are not settings, are left out
    ("download.dest='/x'\nfreeze.all='1'\nnot a setting\n\n", {}),
    # repr() quoting of values with quotes and spaces
    (
        'global.extra-index-url="file:///a/simple https://x.org/it\'s"\n',
        {"extra-index-url": "file:///a/simple https://x.org/it's"},
    ),
]


@pytest.mark.parametrize(("text", "expected"), PARSE_CASES)
def test_parse_config_list(text: str, expected: dict[str, str]) -> None:
    assert passthrough.parse_config_list(text) == expected


# ------------------------------------------------------------------------------ pip_passthrough: rewriting
ON_DISK = {"/srv/wheels": True, "/srv/index/simple": True, "/etc/ssl/ca.pem": True, "/missing": False}
REWRITE_CASES = [
    # a wheel directory: mounted as is, named by its mount
    ({"find-links": "/srv/wheels"}, {"find-links": "/tmp/build-host/srv/wheels"}, ["/srv/wheels"]),
    # a local index: its parent is mounted, for the ../../files links of its pages
    (
        {"extra-index-url": "file:///srv/index/simple"},
        {"extra-index-url": "file:///tmp/build-host/srv/index/simple"},
        ["/srv/index"],
    ),
    # remote indexes pass through untouched, next to a local one
    (
        {
            "index-url": "https://mirror.example/simple",
            "extra-index-url": "https://b.example file:///srv/index/simple",
        },
        {
            "index-url": "https://mirror.example/simple",
            "extra-index-url": "https://b.example file:///tmp/build-host/srv/index/simple",
        },
        ["/srv/index"],
    ),
    # a CA bundle (a TLS-inspecting proxy) and plain settings
    (
        {"cert": "/etc/ssl/ca.pem", "default-timeout": "180", "trusted-host": "mirror.example"},
        {
            "cert": "/tmp/build-host/etc/ssl/ca.pem",
            "default-timeout": "180",
            "trusted-host": "mirror.example",
        },
        ["/etc/ssl/ca.pem"],
    ),
    # a path missing on the host is dropped, and a setting left empty with it
    ({"find-links": "/missing /srv/wheels"}, {"find-links": "/tmp/build-host/srv/wheels"}, ["/srv/wheels"]),
    ({"constraint": "/missing"}, {}, []),
    # settings about the host only are not passed on
    ({"cache-dir": "/root/.cache/pip", "user": "true", "target": "/x"}, {}, []),
]


@pytest.mark.parametrize(("settings", "expected", "mounts"), REWRITE_CASES)
def test_rewrite(settings: dict[str, str], expected: dict[str, str], mounts: list[str]) -> None:
    rewritten, mounted = passthrough.rewrite(settings, ON_DISK)
    assert rewritten == expected
    assert [str(path) for path in mounted] == mounts


OUTERMOST_CASES = [
    (["/a/b", "/a"], ["/a"]),
    (["/a", "/a", "/ab"], ["/a", "/ab"]),  # /ab is not inside /a
    (["/c", "/a/b/c", "/a/b"], ["/c", "/a/b"]),
    ([], []),
]


@pytest.mark.parametrize(("paths", "expected"), OUTERMOST_CASES)
def test_outermost(paths: list[str], expected: list[str]) -> None:
    assert passthrough.outermost([PurePosixPath(path) for path in paths]) == [
        PurePosixPath(p) for p in expected
    ]


def test_main_writes_the_build_config_and_prints_the_mounts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    listing = f"global.find-links='{wheels}'\n:env:.default-timeout='60'\nglobal.cert='{tmp_path}/gone.pem'\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(listing))
    out = tmp_path / "build-tmp"
    passthrough.main([str(out)])
    moved = f"/tmp/build-host{wheels}"
    assert (
        out / ".config/pip/pip.conf"
    ).read_text() == f"[global]\nfind-links = {moved}\ndefault-timeout = 60\n"
    assert capsys.readouterr().out == f"{wheels}:{moved}:ro\n"


# ------------------------------------------------------------------------------ probe: against the service
@pytest.fixture(scope="module")
def service_port() -> Iterator[int]:
    """The real service on a loopback port (what the container serves)."""
    from tests.client.live import live_service

    with live_service() as url:
        yield int(url.rsplit(":", 1)[1])


def test_probe_checks_pass_against_the_service(service_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    probe.wait_healthy(service_port, started_at=probe.time.time())
    probe.check_score(service_port)
    probe.check_get_reward(service_port)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":", 1)[0] for line in lines] == ["/health", "/score", "/get_reward"]


WRONG_EXPECTATIONS = [
    ("math-right", {"accuracy": 0.0}),
    ("format-no-think", {"format": 1.0}),
    ("language-zh", {"language": (0.0, 0.1)}),
    ("no-reference", {"accuracy": 1.0}),
]


@pytest.mark.parametrize(("case_id", "expected"), WRONG_EXPECTATIONS)
def test_probe_score_fails_on_a_wrong_result(
    service_port: int, monkeypatch: pytest.MonkeyPatch, case_id: str, expected: dict[str, object]
) -> None:
    cases = [(cid, item, expected if cid == case_id else want) for cid, item, want in probe.SCORE_CASES]
    monkeypatch.setattr(probe, "SCORE_CASES", cases)
    with pytest.raises(SystemExit, match=case_id):
        probe.check_score(service_port)


def test_probe_get_reward_fails_when_rewards_do_not_rank_the_answers() -> None:
    from tests.client.live import live_service

    with live_service(accuracy_weight=0.0) as url, pytest.raises(SystemExit, match="do not rank"):
        probe.check_get_reward(int(url.rsplit(":", 1)[1]))


def test_probe_wait_healthy_gives_up(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as unused:  # bound, never listening: connections are refused
        unused.bind(("127.0.0.1", 0))
        monkeypatch.setattr(probe, "HEALTH_DEADLINE_S", 0.5)
        with pytest.raises(SystemExit, match="did not answer 200"):
            probe.wait_healthy(unused.getsockname()[1], started_at=probe.time.time())


SCORE_MATCH_CASES = [
    (None, None, True),
    (0.0, None, False),
    (None, 0.0, False),
    (1.0, 1.0, True),
    (0.5, 1.0, False),
    (0.95, (0.9, 1.0), True),
    (0.89, (0.9, 1.0), False),
]


@pytest.mark.parametrize(("value", "expected", "matches"), SCORE_MATCH_CASES)
def test_score_matches(value: float | None, expected: object, matches: bool) -> None:
    assert probe.score_matches(value, expected) is matches
