"""Security of the service, tested over HTTP against a ``vrewards serve`` subprocess.

- Bearer token: missing, wrong or malformed -> 401 on every scoring route; right -> 200; /health open.
- Limits: too many items or too large a body (raw or gzip-decoded) -> 413.
- No stack traces: malformed JSON, wrong types, huge numbers, 100k-deep nesting, bad encodings -> 4xx
  whose body holds no traceback and does not echo the input back.
- No code execution: ``__import__('os').system(...)``-style payloads planted in every field of /score and
  /get_reward (and in headers) never create their marker file.
- The container: a non-root USER, a read-only root filesystem declared wherever it runs, and a server
  that runs with its working directory read-only and writes only below its TMPDIR/HOME.
"""

from __future__ import annotations

import gzip
import stat
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil
import pytest
import yaml

from bench.common import Server, serve

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "hardening-token-" + "0123456789abcdef"
MAX_BATCH = 50
MAX_BODY = 256 * 1024
MARKER_DIR = Path("/tmp")
MARKER = MARKER_DIR / f"vrewards_pwned_http_{uuid.uuid4().hex[:8]}"
FIXED_MARKER = MARKER_DIR / "vrewards_pwned_http"
TRACE_SIGNS = ("Traceback", 'File "/', "site-packages", "pydantic_core.", "orjson.", '.py", line')
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(read-only working directory, scratch HOME/TMPDIR) for the server."""
    base = tmp_path_factory.mktemp("security")
    cwd, scratch = base / "cwd", base / "scratch"
    cwd.mkdir()
    scratch.mkdir()
    cwd.chmod(stat.S_IRUSR | stat.S_IXUSR)
    yield cwd, scratch
    cwd.chmod(stat.S_IRWXU)


@pytest.fixture(scope="module")
def server(sandbox: tuple[Path, Path]) -> Iterator[Server]:
    cwd, scratch = sandbox
    for marker in (MARKER, FIXED_MARKER):
        marker.unlink(missing_ok=True)
    env = {
        "VREWARDS_API_TOKEN": TOKEN,
        "VREWARDS_MAX_BATCH_ITEMS": str(MAX_BATCH),
        "VREWARDS_MAX_BODY_BYTES": str(MAX_BODY),
        "VREWARDS_ITEM_TIMEOUT_S": "3",
        "VREWARDS_LOG_LEVEL": "warning",
        "HOME": str(scratch),
        "TMPDIR": str(scratch),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    with serve(workers=1, env=env, cwd=cwd) as running:
        yield running


@pytest.fixture(scope="module")
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60.0) as client:
        yield client


def good_body(n: int = 1) -> bytes:
    return orjson.dumps({"items": [{"completion": "<think>2+2=4</think> \\boxed{4}", "answer": "4"}] * n})


def assert_clean(response: httpx.Response, sent: bytes = b"") -> None:
    """No traceback, no echo of a long input, a JSON error body."""
    text = response.text
    for sign in TRACE_SIGNS:
        assert sign not in text, (response.status_code, text[:500])
    if response.status_code != 200:
        assert len(response.content) < 8192, (response.status_code, len(response.content))
    if len(sent) > 1000:
        assert sent[:200].decode("utf-8", "replace") not in text


# ---------------------------------------------------------------------------------------------------------
# Bearer token
# ---------------------------------------------------------------------------------------------------------

BAD_AUTH = [
    {},
    {"Authorization": ""},
    {"Authorization": "Bearer"},
    {"Authorization": f"Token {TOKEN}"},
    {"Authorization": "Bearer wrong-token-0123456789"},
    {"Authorization": f"Bearer {TOKEN}x"},
    {"Authorization": f"Bearer {TOKEN[:-1]}"},
    {"Authorization": f"Basic {TOKEN}"},
    {"Authorization": f"bearer{TOKEN}"},
    {"Authorization": f"Bearer {TOKEN.upper()}"},
    {"X-Api-Token": TOKEN},
]
SCORING_ROUTES = [
    ("/score", good_body()),
    ("/get_reward", orjson.dumps({"query": ["<think>2+2=4</think> \\boxed{4}"], "labels": ["4"]})),
]


@pytest.mark.parametrize("headers", BAD_AUTH)
@pytest.mark.parametrize(("path", "body"), SCORING_ROUTES)
def test_missing_or_wrong_token_is_refused(
    http: httpx.Client, path: str, body: bytes, headers: dict[str, str]
) -> None:
    response = http.post(path, content=body, headers={**JSON, **headers})
    assert response.status_code == 401, response.text[:300]
    assert TOKEN not in response.text
    assert_clean(response)


@pytest.mark.parametrize(("path", "body"), SCORING_ROUTES)
def test_right_token_is_accepted(http: httpx.Client, path: str, body: bytes) -> None:
    response = http.post(path, content=body, headers={**JSON, **AUTH})
    assert response.status_code == 200, response.text[:300]


def test_health_needs_no_token(http: httpx.Client) -> None:
    assert http.get("/health").status_code == 200


def test_metrics_need_the_token(http: httpx.Client) -> None:
    assert http.get("/metrics").status_code == 401
    assert http.get("/metrics", headers=AUTH).status_code == 200


# ---------------------------------------------------------------------------------------------------------
# Size limits
# ---------------------------------------------------------------------------------------------------------


def test_batch_over_the_limit_is_413(http: httpx.Client) -> None:
    response = http.post("/score", content=good_body(MAX_BATCH + 1), headers={**JSON, **AUTH})
    assert response.status_code == 413, response.text[:300]
    assert_clean(response)
    assert http.post("/score", content=good_body(MAX_BATCH), headers={**JSON, **AUTH}).status_code == 200


@pytest.mark.parametrize(
    ("name", "body", "headers"),
    [
        ("raw", orjson.dumps({"items": [{"completion": "x" * (MAX_BODY + 10)}]}), {}),
        (
            "gzip bomb",
            gzip.compress(orjson.dumps({"items": [{"completion": " " * (MAX_BODY * 40)}]})),
            {"Content-Encoding": "gzip"},
        ),
    ],
)
def test_body_over_the_limit_is_413(
    http: httpx.Client, name: str, body: bytes, headers: dict[str, str]
) -> None:
    response = http.post("/score", content=body, headers={**JSON, **AUTH, **headers})
    assert response.status_code == 413, (name, response.text[:300])
    assert_clean(response, body)


def test_gzip_body_under_the_limit_is_accepted(http: httpx.Client) -> None:
    response = http.post(
        "/score", content=gzip.compress(good_body(10)), headers={**JSON, **AUTH, "Content-Encoding": "gzip"}
    )
    assert response.status_code == 200
    assert len(response.json()["results"]) == 10


# ---------------------------------------------------------------------------------------------------------
# Malformed requests: 4xx, never a traceback
# ---------------------------------------------------------------------------------------------------------

DEEP = 100_000
MALFORMED: list[tuple[str, bytes, dict[str, str]]] = [
    ("empty", b"", {}),
    ("not json", b"{", {}),
    ("trailing garbage", b'{"items": []} xx', {}),
    ("null", b"null", {}),
    ("array", b"[]", {}),
    ("string", b'"items"', {}),
    ("items not a list", b'{"items": "x"}', {}),
    ("items missing", b'{"rewards": {}}', {}),
    ("completion not a string", b'{"items": [{"completion": 5}]}', {}),
    ("completion missing", b'{"items": [{"answer": "4"}]}', {}),
    ("completion a list of 60 kB", orjson.dumps({"items": [{"completion": ["y" * 60_000]}]}), {}),
    ("answer an object", b'{"items": [{"completion": "x", "answer": {"a": 1}}]}', {}),
    ("id too long", orjson.dumps({"items": [{"completion": "x", "id": "i" * 5000}]}), {}),
    ("huge integer", b'{"items": [{"completion": "x", "answer": ' + b"9" * 5000 + b"}]}", {}),
    (
        "huge float weight",
        b'{"items": [{"completion": "x"}], "rewards": {"accuracy": {"weight": 1e999}}}',
        {},
    ),
    ("NaN weight", b'{"items": [{"completion": "x"}], "rewards": {"accuracy": {"weight": NaN}}}', {}),
    (
        "negative weight magnitude",
        b'{"items": [{"completion": "x"}], "rewards": {"accuracy": {"weight": -1e300}}}',
        {},
    ),
    ("unknown component", b'{"items": [{"completion": "x"}], "rewards": {"speed": {"weight": 1}}}', {}),
    ("unknown setting", b'{"items": [{"completion": "x"}], "rewards": {"format": {"mode": "yaml"}}}', {}),
    ("rewards a list", b'{"items": [{"completion": "x"}], "rewards": [1, 2]}', {}),
    ("deep arrays", b'{"items": ' + b"[" * DEEP + b"]" * DEEP + b"}", {}),
    (
        "deep objects",
        b'{"items": [{"completion": "x", "answer": ' + b'{"a":' * DEEP + b"1" + b"}" * DEEP + b"}]}",
        {},
    ),
    ("deep rewards", b'{"items": [], "rewards": ' + b"[" * DEEP + b"]" * DEEP + b"}", {}),
    ("invalid utf-8 outside strings", b'{"items": [\xff\xfe]}', {}),
    ("utf-16 body", '{"items": [{"completion": "x"}]}'.encode("utf-16"), {}),
    ("corrupt gzip", b"\x1f\x8b\x08\x00garbage", {"Content-Encoding": "gzip"}),
    ("unsupported encoding", b"{}", {"Content-Encoding": "br"}),
    ("get_reward query not a list", b'{"query": "x"}', {}),
    ("get_reward labels too short", b'{"query": ["a", "b"], "labels": ["1"]}', {}),
    ("get_reward deep", b'{"query": ' + b"[" * DEEP + b"]" * DEEP + b"}", {}),
]


@pytest.mark.parametrize(("name", "body", "headers"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_request_is_4xx_without_traceback(
    http: httpx.Client, name: str, body: bytes, headers: dict[str, str]
) -> None:
    path = "/get_reward" if name.startswith("get_reward") else "/score"
    response = http.post(path, content=body, headers={**JSON, **AUTH, **headers})
    assert 400 <= response.status_code < 500, (name, response.status_code, response.text[:300])
    assert_clean(response, body)


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/score"), ("PUT", "/score"), ("GET", "/nope"), ("DELETE", "/health")]
)
def test_wrong_route_or_method_is_4xx_without_traceback(http: httpx.Client, method: str, path: str) -> None:
    response = http.request(method, path, headers=AUTH)
    assert 400 <= response.status_code < 500
    assert_clean(response)


# ---------------------------------------------------------------------------------------------------------
# Code-execution payloads in every field
# ---------------------------------------------------------------------------------------------------------


def payloads(marker: Path) -> list[str]:
    """Strings that would create ``marker`` if any part of the service evaluated them."""
    touch = f"touch {marker}"
    return [
        f"__import__('os').system('{touch}')",
        f'__import__("os").system("{touch}")',
        f"\\boxed{{__import__('os').system('{touch}')}}",
        f"$\\boxed{{__import__('os').system('{touch}')}}$",
        f"eval(\"__import__('os').system('{touch}')\")",
        f"exec(\"import os; os.system('{touch}')\")",
        f"(lambda: __import__('os').system('{touch}'))()",
        f"getattr(__import__('os'), 'system')('{touch}')",
        f"().__class__.__base__.__subclasses__()[0].__init__.__globals__['os'].system('{touch}')",
        f"__builtins__.__import__('os').system('{touch}')",
        f"Symbol('x').__class__.__mro__[-1].__subclasses__(); __import__('os').system('{touch}')",
        f"\\text{{__import__('os').system('{touch}')}}",
        f"\\operatorname{{__import__}}('os').system('{touch}')",
        f"\\mathrm{{exec}}(\\text{{import os; os.system('{touch}')}})",
        f"x = __import__('os').system('{touch}')",
        f"{{{{ ''.__class__.__mro__[1].__subclasses__() }}}} {{% import os %}}{{{{ os.system('{touch}') }}}}",
        f"$({touch})",
        f"`{touch}`",
        f"; {touch}; ",
        f"| {touch}",
        f"\\input{{|{touch}}}",
        f"\\write18{{{touch}}}",
        f"!!python/object/apply:os.system ['{touch}']",
        f"cos.system\nRS'{touch}'\ntR.",  # pickle protocol 0
    ]


def planted_requests(marker: Path) -> list[tuple[str, dict[str, Any]]]:
    """(path, body) pairs that put every payload into every field."""
    texts = payloads(marker)
    requests: list[tuple[str, dict[str, Any]]] = []
    # Item text fields, all at once, each payload also wrapped in a think block and a box.
    items = []
    for n, text in enumerate(texts):
        items.append(
            {
                "completion": f"<think>{text}</think> The answer is $\\boxed{{{text}}}$. {text}",
                "prompt": text,
                "answer": text,
                "id": text[:1000],
                "group": text[:1000],
                "lang": "en",
            }
        )
        items.append({"completion": text, "answer": f"\\boxed{{{text}}}", "id": f"plain-{n}"})
    for start in range(0, len(items), MAX_BATCH):
        requests.append(("/score", {"items": items[start : start + MAX_BATCH], "request_id": texts[0]}))
    for text in texts:
        requests.append(
            ("/score", {"items": [{"completion": "\\boxed{1}", "answer": "1", "lang": text[:35]}]})
        )
        requests.append(
            ("/score", {"items": [{"completion": "\\boxed{1}", "answer": "1"}], "request_id": text})
        )
        requests.append(
            ("/score", {"items": [{"completion": "\\boxed{1}"}], "rewards": {"format": {"mode": text}}})
        )
        requests.append(
            ("/score", {"items": [{"completion": "\\boxed{1}"}], "rewards": {"accuracy": {"weight": text}}})
        )
        requests.append(
            ("/score", {"items": [{"completion": "\\boxed{1}"}], "rewards": {text: {"weight": 1}}})
        )
        requests.append(("/score", {"items": [{"completion": "\\boxed{1}", text: text}]}))
        requests.append(
            (
                "/get_reward",
                {
                    "query": [text, f"<think>{text}</think>\\boxed{{{text}}}"],
                    "prompts": [text, text],
                    "labels": [text, text],
                },
            )
        )
        requests.append(("/get_reward", {"query": [text], "labels": [text], "request_id": text}))
    return requests


def test_payloads_in_every_field_execute_nothing(http: httpx.Client) -> None:
    statuses: dict[int, int] = {}
    for marker in (MARKER, FIXED_MARKER):
        for path, body in planted_requests(marker):
            headers = {**JSON, **AUTH, "X-Request-ID": payloads(marker)[0][:200]}
            response = http.post(path, content=orjson.dumps(body), headers=headers)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            assert response.status_code < 500, (path, response.status_code, response.text[:300])
            assert_clean(response)
    time.sleep(0.5)  # a detached shell would have run by now
    assert not MARKER.exists() and not FIXED_MARKER.exists()
    assert statuses.get(200, 0) > 0 and statuses.get(422, 0) > 0, statuses  # both paths were exercised


# ---------------------------------------------------------------------------------------------------------
# Container and filesystem
# ---------------------------------------------------------------------------------------------------------


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined."""
    text = path.read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "deploy/trainer.Dockerfile"])
def test_image_runs_as_non_root(dockerfile: str) -> None:
    instructions = dockerfile_instructions(ROOT / dockerfile)
    users = [args for keyword, args in instructions if keyword == "USER"]
    assert users, "no USER instruction: the container would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    assert [k for k, _ in instructions].index("USER") > max(
        i for i, (k, _) in enumerate(instructions) if k == "RUN"
    )


def test_service_image_declares_health_and_command() -> None:
    instructions = dict(dockerfile_instructions(ROOT / "Dockerfile"))
    assert "/health" in instructions["HEALTHCHECK"] and "curl" not in instructions["HEALTHCHECK"]
    assert instructions["CMD"] == '["vrewards", "serve", "--host", "0.0.0.0", "--port", "8000"]'
    assert instructions["EXPOSE"] == "8000"
    for keyword, args in dockerfile_instructions(ROOT / "Dockerfile"):
        assert "torch" not in args and "VREWARDS_EXTRAS" not in args, (keyword, args)  # the service only


def test_deployments_declare_read_only_non_root() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    rewards = compose["services"]["rewards"]
    assert rewards["read_only"] is True and "/tmp" in rewards["tmpfs"]
    assert compose["services"]["trainer"]["depends_on"]["rewards"]["condition"] == "service_healthy"
    documents = [d for d in yaml.safe_load_all((ROOT / "deploy/kubernetes.yaml").read_text()) if d]
    containers = []
    for document in documents:
        spec = document["spec"].get("template", {}).get("spec")
        if spec is None:
            continue
        assert spec["securityContext"]["runAsNonRoot"] is True
        containers += [
            c
            for c in spec.get("containers", []) + spec.get("initContainers", [])
            if c["image"].startswith("vrewards:")
        ]
    assert len(containers) == 2  # the Deployment's and the sidecar's
    for container in containers:
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert any(m["mountPath"] == "/tmp" for m in container["volumeMounts"])


def test_server_writes_only_below_its_scratch_dir(
    server: Server, http: httpx.Client, sandbox: tuple[Path, Path]
) -> None:
    cwd, scratch = sandbox
    body = orjson.dumps(
        {
            "items": [
                {
                    "completion": "<think>Le calcul donne quatre.</think> \\boxed{4}",
                    "answer": "4",
                    "prompt": "Combien font deux plus deux ?",
                }
            ]
            * MAX_BATCH
        }
    )
    assert http.post("/score", content=body, headers={**JSON, **AUTH}).status_code == 200
    assert list(cwd.iterdir()) == []  # the read-only working directory stayed empty (and usable)
    allowed = (str(scratch), "/dev/", "/proc/")
    processes = [psutil.Process(server.pid), *psutil.Process(server.pid).children(recursive=True)]
    writable = []
    for process in processes:
        try:
            writable += [h.path for h in process.open_files() if h.mode in ("w", "a", "r+", "a+", "w+")]
        except psutil.NoSuchProcess:
            continue
    assert all(path.startswith(allowed) or path == str(server.log_path) for path in writable), writable
