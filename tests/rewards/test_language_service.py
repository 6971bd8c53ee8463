"""The language target of a chat-templated prompt over the real service (issue 14 item 1): ``/score`` and
OpenRLHF's ``/get_reward``, which always sends templated prompts and cannot pass ``lang``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from tests.app.conftest import serve
from tests.rewards.test_language_chat_prompt import SYSTEM, TEMPLATES

pytestmark = pytest.mark.asyncio(loop_scope="module")

CHINESE = "<think>\n我们把六和七相乘，得到四十二，所以答案是四十二。\n</think>\n答案是 \\boxed{42}。"
ENGLISH = "<think>\nWe multiply six by seven and get forty two, so that is the answer.\n</think>\n\\boxed{42}"
QUESTION = "计算六乘以七等于多少？"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with serve(workers=1) as client:
        yield client


@pytest.mark.parametrize("system", [None, SYSTEM], ids=["no-system", "system"])
@pytest.mark.parametrize("template", sorted(TEMPLATES))
async def test_score_reads_the_target_inside_the_template(
    client: httpx.AsyncClient, template: str, system: str | None
) -> None:
    prompt = TEMPLATES[template](QUESTION, system)
    items = [{"prompt": prompt, "completion": text, "answer": "42"} for text in (CHINESE, ENGLISH)]
    r = await client.post("/score", json={"items": items})
    assert r.status_code == 200
    chinese, english = r.json()["results"]
    assert chinese["details"]["language_target"] == english["details"]["language_target"] == "zh"
    assert chinese["scores"]["language"] == 1.0
    assert english["scores"]["language"] == 0.0


@pytest.mark.parametrize("with_prompts", [True, False], ids=["prompts", "query-only"])
async def test_get_reward_reads_the_target_inside_chatml(
    client: httpx.AsyncClient, with_prompts: bool
) -> None:
    prompt = TEMPLATES["chatml"](QUESTION, SYSTEM)
    body: dict[str, object] = {
        "query": [prompt + CHINESE + "<|im_end|>", prompt + ENGLISH + "<|im_end|>"],
        "labels": ["42", "42"],
    }
    if with_prompts:
        body["prompts"] = [prompt, prompt]
    r = await client.post("/get_reward", json=body)
    assert r.status_code == 200
    assert r.json()["extra_logs"]["language"] == [1.0, 0.0]
