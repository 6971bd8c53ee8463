"""The trainers' own reward-calling code, loaded without their heavy stacks (the ``integrations`` extra).

What runs is the trainers' code, unchanged: OpenRLHF 0.11.2's ``SingleTurnAgentExecutor`` (its HTTP reward
client, retries included), its ``SamplesGenerator._process_response_into_experience`` and
``Experience.concat_experiences`` (which turn the response into tensors); verl 0.9.1's ``load_reward_manager``
and reward-loop ``NaiveRewardManager.run_single`` (how 0.9+ calls ``compute_score``/``compute_score_async``),
and its legacy ``workers.reward_manager`` ``NaiveRewardManager``/``BatchRewardManager`` (how <= 0.8 called
``compute_score``/``compute_score_batch``), all over verl's real ``DataProto``.

Stand-ins, for what is not under test: ``ray`` and ``vllm`` modules with the few names imported at module
level (present only while the modules import, then removed so other tests see no ``ray``), verl's
``verl.experimental.reward_loop`` package ``__init__`` (it imports Ray's resource pools), a character-level
tokenizer (one id per character, so decoding gives back the exact text), and a generation engine that
returns a given response.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.metadata
import importlib.util
import os
import sys
from collections.abc import Iterator, Sequence
from types import ModuleType, SimpleNamespace
from typing import Any

PAD_ID = 0


class CharTokenizer:
    """One token per character (the id is the code point); 0 pads. Decoding drops pads."""

    pad_token_id = PAD_ID
    eos_token_id = PAD_ID

    def __call__(self, text: str, add_special_tokens: bool = False, return_tensors: str | None = None) -> Any:
        import torch

        ids = [ord(c) for c in text]
        return {"input_ids": torch.tensor([ids]) if return_tensors == "pt" else [ids]}

    def encode(self, text: str) -> list[int]:
        return [ord(c) for c in text]

    def decode(self, ids: Any, skip_special_tokens: bool = False) -> str:
        values = ids.tolist() if hasattr(ids, "tolist") else list(ids)
        return "".join(chr(i) for i in values if i != PAD_ID)


class OneResponseEngine:
    """A vLLM engine stand-in: ``generate`` returns the response the test chose for that prompt."""

    def __init__(self, response: str) -> None:
        self.response = response

    async def generate(self, prompt_token_ids: list[int], params: Any, multi_modal_data: Any = None) -> Any:
        output = SimpleNamespace(
            token_ids=[ord(c) for c in self.response], finish_reason="stop", logprobs=None
        )
        return SimpleNamespace(outputs=[output])


def _module(name: str, **attrs: Any) -> ModuleType:
    module = ModuleType(name)
    module.__dict__.update(attrs)
    return module


def _passthrough(*args: Any, **kwargs: Any) -> Any:
    if args and callable(args[0]) and not kwargs:
        return args[0]
    return lambda obj: obj


def _import_stand_ins() -> dict[str, ModuleType]:
    ray = _module("ray", remote=_passthrough, get=lambda refs: refs, ObjectRef=object)
    util = _module("ray.util")
    ray.util = util  # type: ignore[attr-defined]
    return {
        "ray": ray,
        "ray.util": util,
        "ray.util.placement_group": _module(
            "ray.util.placement_group", placement_group=None, PlacementGroup=object
        ),
        "ray.util.scheduling_strategies": _module(
            "ray.util.scheduling_strategies",
            PlacementGroupSchedulingStrategy=object,
            NodeAffinitySchedulingStrategy=object,
        ),
        "vllm": _module("vllm", SamplingParams=object, __version__="0.10.2"),
        "vllm.inputs": _module("vllm.inputs", TokensPrompt=dict),
        "vllm.utils": _module("vllm.utils", random_uuid=lambda: "0"),
    }


@contextlib.contextmanager
def _stand_ins() -> Iterator[None]:
    """The stand-in modules for the imports only, where the real package is not installed."""
    real = {top for top in ("ray", "vllm") if importlib.util.find_spec(top) is not None}
    added = []
    for name, module in _import_stand_ins().items():
        if name.split(".")[0] not in real and name not in sys.modules:
            sys.modules[name] = module
            added.append(name)
    try:
        yield
    finally:
        for name in added:
            sys.modules.pop(name, None)


@functools.cache
def openrlhf() -> SimpleNamespace:
    """OpenRLHF's reward client, experience building and dataset preprocessing."""
    with _stand_ins():
        agent = importlib.import_module("openrlhf.utils.agent")
        samples = importlib.import_module("openrlhf.trainer.ppo_utils.samples_generator")
        experience = importlib.import_module("openrlhf.trainer.ppo_utils.experience")
        prompts = importlib.import_module("openrlhf.datasets.prompts_dataset")
    return SimpleNamespace(
        version=importlib.metadata.version("openrlhf"),
        Executor=agent.SingleTurnAgentExecutor,
        to_experience=samples.SamplesGenerator._process_response_into_experience,
        Experience=experience.Experience,
        preprocess_data=prompts.preprocess_data,
    )


@functools.cache
def verl() -> SimpleNamespace:
    """verl's DataProto, its 0.9 reward loop entry points and its legacy (<= 0.8 style) managers."""
    with _stand_ins():
        package = importlib.import_module("verl")
        importlib.import_module("verl.experimental")
        loop_dir = os.path.join(os.path.dirname(package.__file__), "experimental", "reward_loop")
        loop_package = _module("verl.experimental.reward_loop", __path__=[loop_dir])
        sys.modules.setdefault("verl.experimental.reward_loop", loop_package)
        loop_managers = importlib.import_module("verl.experimental.reward_loop.reward_manager")
        reward = importlib.import_module("verl.trainer.ppo.reward")
        legacy = importlib.import_module("verl.workers.reward_manager")
        omegaconf = importlib.import_module("omegaconf")
    return SimpleNamespace(
        version=package.__version__,
        DataProto=package.DataProto,
        load_reward_manager=reward.load_reward_manager,
        loop_manager_cls=loop_managers.get_reward_manager_cls,
        LegacyNaive=legacy.NaiveRewardManager,
        LegacyBatch=legacy.BatchRewardManager,
        OmegaConf=omegaconf.OmegaConf,
    )


def verl_batch(samples: Sequence[tuple[str, str, Any, dict[str, Any] | None]]) -> Any:
    """A verl ``DataProto`` of ``(prompt, response, ground_truth, extra_info)`` samples, laid out as verl's
    rollout leaves it: prompts left-padded, responses right-padded, one attention mask over both, and the
    dataset's fields as numpy object arrays (a list ground truth arrives as a numpy array, as from parquet).
    """
    import numpy as np
    import torch

    prompt_len = max(len(p) for p, *_ in samples)
    response_len = max(len(r) for _, r, *_ in samples)
    prompts = torch.full((len(samples), prompt_len), PAD_ID, dtype=torch.long)
    responses = torch.full((len(samples), response_len), PAD_ID, dtype=torch.long)
    mask = torch.zeros((len(samples), prompt_len + response_len), dtype=torch.long)
    for i, (prompt, response, _, _) in enumerate(samples):
        prompts[i, prompt_len - len(prompt) :] = torch.tensor([ord(c) for c in prompt])
        responses[i, : len(response)] = torch.tensor([ord(c) for c in response])
        mask[i, prompt_len - len(prompt) : prompt_len + len(response)] = 1

    def objects(values: list[Any]) -> Any:
        array = np.empty(len(values), dtype=object)
        array[:] = values
        return array

    truths = [np.array(t, dtype=object) if isinstance(t, list) else t for _, _, t, _ in samples]
    return verl().DataProto.from_dict(
        tensors={
            "prompts": prompts,
            "responses": responses,
            "attention_mask": mask,
            "input_ids": torch.cat([prompts, responses], dim=1),
        },
        non_tensors={
            "data_source": objects(["math"] * len(samples)),
            "reward_model": objects([{"ground_truth": t, "style": "rule"} for t in truths]),
            "extra_info": objects([dict(info or {}) for *_, info in samples]),
        },
    )


def verl_loop_config(path: str, name: str, manager: str = "naive") -> Any:
    """The ``reward`` section verl 0.9 reads (``reward.custom_reward_function``, ``reward.reward_manager``)."""
    return verl().OmegaConf.create(
        {
            "reward": {
                "custom_reward_function": {"path": path, "name": name, "reward_kwargs": {}},
                "reward_manager": {"source": "register", "name": manager, "module": {"path": None}},
                "sandbox_fusion": None,
            }
        }
    )
