"""The trainer's promises, one by one: the sampled distribution is the scored one, every end id ends a
completion, normalisers count every row, SFT never cuts a row, dropout is off, nothing builds
``[batch, length, vocab]``, and the bf16 / gradient-checkpointing paths run on CPU."""

from __future__ import annotations

import json
import logging
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.trainer.conftest import tiny_config
from tests.trainer.fakes import FakeRewardClient
from tests.trainer.test_trainer import _rollout, run_of
from trainer_client.grpo import rollout as rollout_module
from trainer_client.grpo.losses import LOG_RATIO_CLAMP, aggregate, clipped_surrogate, kl_penalty
from trainer_client.grpo.model import build_tiny_model, build_tiny_tokenizer, disable_dropout, render_prompt
from trainer_client.grpo.rollout import (
    Rollout,
    Sampling,
    SelectedLogps,
    completion_mask_from_ids,
    end_token_ids,
    generate,
    token_logps,
    token_micro_batches,
)
from trainer_client.grpo.sft import SFTConfig, collate, fitting_rows, run_sft, sft_step
from trainer_client.grpo.trainer import policy_update, setup, train

SMALL = {"hidden": 32, "layers": 1, "heads": 2, "intermediate": 64}


def meddling_model(tok: Any) -> Any:
    """A tiny model whose checkpoint generation config would change the sampled distribution if it leaked."""
    model = build_tiny_model(tok, **SMALL, seed=5)
    g = model.generation_config
    g.top_k, g.top_p, g.repetition_penalty, g.no_repeat_ngram_size = 3, 0.5, 5.0, 1
    g.min_new_tokens, g.min_p, g.temperature = 4, 0.5, 0.3
    g.suppress_tokens = list(range(10, 60))
    return model


def capture_generate(model: Any) -> list[Any]:
    """Make ``model.generate`` also keep its processed scores and raw logits (what was sampled from)."""
    seen: list[Any] = []
    original = model.generate

    def wrapped(**kwargs: Any) -> Any:
        out = original(**kwargs, return_dict_in_generate=True, output_scores=True, output_logits=True)
        seen.append(out)
        return out.sequences

    model.generate = wrapped
    return seen


# ---- 1. sampling: the distribution sampled from is the one the loss scores -----------------------------------
@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_sampled_distribution_is_the_scored_one(temperature: float) -> None:
    tok = build_tiny_tokenizer()
    model = meddling_model(tok)
    seen = capture_generate(model)
    prompts = [render_prompt(tok, "1+1?"), render_prompt(tok, "22+3?")]
    torch.manual_seed(0)
    r = generate(model, tok, prompts, Sampling(max_new_tokens=6, temperature=temperature))
    out = seen[0]
    for raw, processed in zip(out.logits, out.scores, strict=True):  # no processor touched the logits
        assert torch.allclose(processed, raw / temperature, atol=1e-5)
    sampled = torch.stack(
        [
            torch.log_softmax(s, dim=-1).gather(1, r.completion_ids[:, i : i + 1]).squeeze(1)
            for i, s in enumerate(out.scores)
        ],
        dim=1,
    )
    lp, _ = token_logps(
        model, r.prompt_ids, r.prompt_mask, r.completion_ids, r.completion_mask, temperature=temperature
    )
    mask = r.completion_mask.bool()
    assert torch.allclose(lp[mask], sampled[:, : lp.shape[1]][mask], atol=1e-4)
    assert model.generation_config.top_k == 3  # the checkpoint's config is left as it was


def test_sampled_frequencies_follow_the_softmax() -> None:
    tok = build_tiny_tokenizer()
    model = meddling_model(tok)
    prompt = render_prompt(tok, "7+8?")
    torch.manual_seed(1)
    n = 4000
    r = generate(model, tok, [prompt] * n, Sampling(max_new_tokens=1))
    lp, _ = token_logps(
        model, r.prompt_ids[:1], r.prompt_mask[:1], torch.zeros(1, 1, dtype=torch.long), torch.ones(1, 1)
    )
    ids = r.prompt_ids[:1]
    with torch.no_grad():
        probs = torch.softmax(model(input_ids=ids).logits[0, -1].float(), dim=-1)
    freq = torch.bincount(r.completion_ids[:, 0], minlength=probs.numel()).float() / n
    assert int((freq > 0).sum()) > 3  # top_k=3 of the checkpoint did not apply
    assert 0.5 * float((freq - probs).abs().sum()) < 0.12  # total variation: sampling noise only (~0.08)
    assert bool(lp.isfinite().all())


def test_greedy_is_the_argmax_of_the_plain_logits() -> None:
    tok = build_tiny_tokenizer()
    model = meddling_model(tok)
    prompt = render_prompt(tok, "3+4?")
    r = generate(model, tok, [prompt], Sampling(max_new_tokens=5, greedy=True))
    ids = r.prompt_ids
    expected = []
    with torch.no_grad():
        for _ in range(5):
            nxt = int(model(input_ids=ids).logits[0, -1].argmax())
            expected.append(nxt)
            ids = torch.cat([ids, torch.tensor([[nxt]])], dim=1)
    n = int(r.completion_mask.sum())
    assert r.completion_ids[0, :n].tolist() == expected[:n]


# ---- 2. end of turn: every end id stops generation and ends the mask -----------------------------------------
TEMPLATE = (
    "{% for m in messages %}<|user|>{{ m['content'] }}"
    "{% if m['role'] == 'assistant' %}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def chat_tokenizer() -> Any:
    tok = build_tiny_tokenizer()
    tok.add_special_tokens({"additional_special_tokens": ["<|im_end|>", "<|stop|>"]})
    tok.chat_template = TEMPLATE
    return tok


def test_end_ids_are_eos_config_list_and_template_end_of_turn() -> None:
    tok = chat_tokenizer()
    model = build_tiny_model(tok, **SMALL)
    stop = tok.convert_tokens_to_ids("<|stop|>")
    model.generation_config.eos_token_id = [tok.eos_token_id, stop]
    assert end_token_ids(tok, model) == [tok.eos_token_id, stop, tok.convert_tokens_to_ids("<|im_end|>")]


@pytest.mark.parametrize("end", ["</s>", "<|stop|>", "<|im_end|>"])
def test_generation_stops_and_masks_at_each_end_id(end: str) -> None:
    tok = chat_tokenizer()
    model = build_tiny_model(tok, **SMALL)
    model.generation_config.eos_token_id = [tok.eos_token_id, tok.convert_tokens_to_ids("<|stop|>")]
    end_id = tok.convert_tokens_to_ids(end)
    head = torch.nn.Linear(32, len(tok), bias=True)  # a head that always says `end` after two other tokens
    with torch.no_grad():
        head.weight.zero_()
        head.bias.fill_(0.0)
        head.bias[end_id] = 50.0
    model.lm_head = head
    model.config.tie_word_embeddings = False
    r = generate(model, tok, [render_prompt(tok, "hi")], Sampling(max_new_tokens=6))
    assert r.completion_ids[0, 0].item() == end_id
    assert r.completion_mask.tolist() == [[1]] and r.truncated.tolist() == [False]


# (ids, end ids, mask, truncated)
MASK_CASES = [
    ([[7, 3, 9, 9]], [2, 3], [[1, 1, 0, 0]], [False]),
    ([[7, 9, 2, 3]], [2, 3], [[1, 1, 1, 0]], [False]),
    ([[7, 7, 7]], [2, 3], [[1, 1, 1]], [True]),
    ([[3], [7]], [3], [[1], [1]], [False, True]),
]


@pytest.mark.parametrize(("ids", "ends", "mask", "truncated"), MASK_CASES)
def test_mask_ends_at_first_end_id(ids: Any, ends: Any, mask: Any, truncated: Any) -> None:
    m, t = completion_mask_from_ids(torch.tensor(ids), ends)
    assert m.tolist() == mask and t.tolist() == truncated


# ---- 3. loss normaliser: sequence and constant divide by every row ------------------------------------------
# per-token losses [[1, 3], [2, 0], [5, 5]], mask [[1, 1], [1, 0], [0, 0]] (the last row masked out):
# sequence: (mean(1, 3) + mean(2) + 0) / 3 rows = 4 / 3; token: (1 + 3 + 2) / 3 tokens = 2;
# constant 4: (1 + 3 + 2) / (3 rows * 4) = 0.5
AGGREGATE_CASES = [("sequence", None, 4 / 3), ("token", None, 2.0), ("constant", 4.0, 0.5)]


@pytest.mark.parametrize(("mode", "constant", "expected"), AGGREGATE_CASES)
def test_aggregate_counts_masked_rows(mode: str, constant: float | None, expected: float) -> None:
    per_token = torch.tensor([[1.0, 3.0], [2.0, 0.0], [5.0, 5.0]])
    mask = torch.tensor([[1, 1], [1, 0], [0, 0]])
    assert aggregate(per_token, mask, mode, constant=constant).item() == pytest.approx(expected)  # type: ignore[arg-type]


# policy_update with mu=1 (ratio 1, per-token loss = -A) over three rows, the third masked (null reward):
# A = [1.0, 0.5, ignored]; completion lengths L0, L1.
# sequence: (-1 - 0.5) / 3 = -0.5 (dividing by the 2 unmasked rows would give -0.75);
# constant C: -(1 * L0 + 0.5 * L1) / (3 * C); token: -(L0 + 0.5 * L1) / (L0 + L1)
@pytest.mark.parametrize("mode", ["sequence", "constant", "token"])
@pytest.mark.parametrize("micro_batch_tokens", [1, 10_000])
def test_policy_update_normalises_by_the_whole_batch(
    tmp_path: Path, mode: str, micro_batch_tokens: int
) -> None:
    model, _, r = _rollout(
        ["2+2=4\n</think>\n\\boxed{4}", "5\n</think>\n\\boxed{5}", "1\n</think>\n\\boxed{1}"]
    )
    cfg = tiny_config(
        tmp_path, loss_aggregation=mode, loss_constant=7.0, micro_batch_tokens=micro_batch_tokens, lr=0.0
    )
    lengths = r.completion_mask.sum(dim=-1).tolist()
    mask = r.completion_mask * torch.tensor([[1], [1], [0]])
    stats = policy_update(cfg, run_of(model, 0.0), r, torch.tensor([1.0, 0.5, 9.0]), mask, None, None)
    l0, l1 = lengths[0], lengths[1]
    expected = {
        "sequence": -1.5 / 3,
        "constant": -(l0 + 0.5 * l1) / (3 * 7.0),
        "token": -(l0 + 0.5 * l1) / (l0 + l1),
    }[mode]
    assert stats["loss"] == pytest.approx(expected, rel=1e-5)


# ---- 4. SFT: over-long rows dropped and counted, gradients accumulated exactly --------------------------------
@pytest.mark.parametrize(
    ("pairs", "max_len", "kept", "dropped"),
    [
        ([([1, 2], [3])], 3, [([1, 2], [3])], 0),
        ([([1, 2], [3, 4])], 3, [], 1),
        ([([1], [2]), ([1] * 9, [2]), ([1, 1], [2, 2])], 4, [([1], [2]), ([1, 1], [2, 2])], 1),
    ],
)
def test_fitting_rows(pairs: Any, max_len: int, kept: Any, dropped: int) -> None:
    assert fitting_rows(pairs, max_len) == (kept, dropped)


def test_sft_drops_counts_and_refuses_when_nothing_fits(tmp_path: Path) -> None:
    data = tmp_path / "cot.jsonl"
    rows = [
        {"prompt": "1+1?", "response": "1+1=2\n</think>\n\\boxed{2}"},
        {"prompt": "9?", "response": "9" * 300},
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    base = {"model": "tiny", "data": str(data), "steps": 1, "batch_size": 2, "tiny": SMALL, "threads": 1}
    out = run_sft(SFTConfig(**base, out_dir=str(tmp_path / "a"), max_len=100))
    summary = json.loads((out / "sft_config.json").read_text(encoding="utf-8"))
    assert (summary["rows"], summary["dropped_over_max_len"]) == (2, 1)
    with pytest.raises(ValueError, match="max-len"):
        run_sft(SFTConfig(**base, out_dir=str(tmp_path / "b"), max_len=5))


def test_sft_accumulation_equals_one_big_batch() -> None:
    tok = build_tiny_tokenizer()
    pairs = [
        (tok("ab")["input_ids"], tok("cde")["input_ids"]),
        (tok("a")["input_ids"], tok("xy" * 5)["input_ids"]),
    ]
    grads = []
    for budget in (1, 10_000):
        model = build_tiny_model(tok, **SMALL, seed=2)
        loss = sft_step(
            model, collate(pairs, 0), micro_batch_tokens=budget, device=torch.device("cpu"), bf16=False
        )
        grads.append((loss, [p.grad.clone() for p in model.parameters()]))
    assert grads[0][0] == pytest.approx(grads[1][0], rel=1e-5)
    for a, b in zip(grads[0][1], grads[1][1], strict=True):
        assert torch.allclose(a, b, atol=1e-6)


# ---- 5. dropout off, log-ratio clamp, cuBLAS setting before CUDA ---------------------------------------------
def test_dropout_off_makes_train_and_eval_the_same_function() -> None:
    tok = build_tiny_tokenizer()
    model = build_tiny_model(tok, **SMALL, attention_dropout=0.5)
    ids = tok("hello there", return_tensors="pt")["input_ids"]
    model.train()
    torch.manual_seed(0)
    assert not torch.equal(model(input_ids=ids).logits, model(input_ids=ids).logits)  # dropout is live
    disable_dropout(model)
    train_out = model(input_ids=ids).logits
    model.eval()
    assert torch.equal(train_out, model(input_ids=ids).logits)


# (log-prob difference, advantage, expected per-token loss) with the log-ratio clamped to ±20
CLAMP_CASES = [
    (1000.0, -1.0, math.exp(LOG_RATIO_CLAMP)),  # ratio e^20 unclipped on the negative side
    (1000.0, 1.0, -1.28),  # clipped at 1 + 0.28
    (-1000.0, 1.0, -math.exp(-LOG_RATIO_CLAMP)),
]


@pytest.mark.parametrize(("diff", "adv", "expected"), CLAMP_CASES)
def test_log_ratio_is_clamped(diff: float, adv: float, expected: float) -> None:
    loss, _, _ = clipped_surrogate(torch.tensor([[diff]]), torch.zeros(1, 1), torch.tensor([adv]), 0.2, 0.28)
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_kl_is_finite_far_from_the_reference() -> None:
    kl = kl_penalty(torch.tensor([0.0]), torch.tensor([1000.0]), "k3")
    assert kl.item() == pytest.approx(math.exp(20) - 21, rel=1e-5)


def test_cublas_workspace_is_set_before_torch_is_imported() -> None:
    code = (
        "import os, sys; import trainer_client.grpo; "
        "assert 'torch' not in sys.modules; print(os.environ['CUBLAS_WORKSPACE_CONFIG'])"
    )
    env = {k: v for k, v in os.environ.items() if k != "CUBLAS_WORKSPACE_CONFIG"}
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env)
    assert out.stdout.strip() == ":4096:8"


# ---- 6. memory: chunked log-probs, token-sized micro-batches, bf16 reference without gradients ----------------
def test_chunked_logps_and_gradients_match_the_full_softmax(monkeypatch: pytest.MonkeyPatch) -> None:
    tok = build_tiny_tokenizer(vocab_size=3000)
    model = build_tiny_model(tok, **SMALL, seed=4)
    _, _, r = _rollout(["2+2=4\n</think>\n\\boxed{4}", "5\n</think>"])
    widths: list[int] = []
    real = rollout_module._chunk_logits

    def spy(hidden: torch.Tensor, *args: Any) -> torch.Tensor:
        widths.append(hidden.shape[0])
        return real(hidden, *args)

    monkeypatch.setattr(rollout_module, "_chunk_logits", spy)
    chunk_rows = 4
    lp, ent = token_logps(
        model,
        r.prompt_ids,
        r.prompt_mask,
        r.completion_ids,
        r.completion_mask,
        temperature=0.8,
        with_entropy=True,
        chunk_bytes=4 * 3000 * chunk_rows,
    )
    (lp * r.completion_mask).sum().backward()
    chunked = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    assert max(widths) <= chunk_rows  # never more than one chunk of logits alive
    full = (
        model(
            input_ids=torch.cat([r.prompt_ids, r.completion_ids], 1),
            attention_mask=torch.cat([r.prompt_mask, r.completion_mask], 1),
        )
        .logits[:, r.prompt_ids.shape[1] - 1 : -1]
        .float()
        / 0.8
    )
    ref = torch.log_softmax(full, dim=-1)
    ref_lp = ref.gather(-1, r.completion_ids.unsqueeze(-1)).squeeze(-1) * r.completion_mask
    ref_ent = -(ref.exp() * ref).sum(-1) * r.completion_mask
    ref_lp.sum().backward()
    assert (
        torch.allclose(lp, ref_lp, atol=1e-4) and ent is not None and torch.allclose(ent, ref_ent, atol=1e-4)
    )
    for a, p in zip(chunked, model.parameters(), strict=True):
        assert torch.allclose(a, p.grad, atol=1e-4)


def test_selected_logps_never_materialises_the_vocabulary_of_all_tokens() -> None:
    h = torch.randn(50, 8, requires_grad=True)
    w = torch.randn(1000, 8, requires_grad=True)
    lp, _ = SelectedLogps.apply(h, w, None, torch.randint(0, 1000, (50,)), 1.0, 7, False, torch.float32)
    saved = [t.numel() for t in lp.grad_fn.saved_tensors if t is not None]
    assert max(saved) <= w.numel()  # hidden, weight, targets, lse: nothing of size 50 x 1000


def test_micro_batches_respect_the_token_budget_and_cover_every_row() -> None:
    lengths = [5, 1, 3, 8, 2, 2]
    n, width = len(lengths), max(lengths)
    mask = torch.tensor([[1] * k + [0] * (width - k) for k in lengths])
    r = Rollout(
        torch.ones(n, 2),
        torch.ones(n, 2),
        torch.ones(n, width),
        mask,
        torch.zeros(n, dtype=torch.bool),
        [""] * n,
    )
    batches = token_micro_batches(r, 12)
    assert sorted(i for b in batches for i in b) == list(range(n))
    for b in batches:
        assert len(b) == 1 or len(b) * (2 + max(lengths[i] for i in b)) <= 12


def test_reference_model_is_bf16_without_gradients(tmp_path: Path) -> None:
    run = setup(tiny_config(tmp_path, beta=0.1, bf16=True))
    assert {p.dtype for p in run.ref_model.parameters()} == {torch.bfloat16}
    assert not any(p.requires_grad for p in run.ref_model.parameters())
    assert {p.dtype for p in run.model.parameters()} == {torch.float32}


# ---- 7. real-model defaults and the prompt-truncation warning ------------------------------------------------
def test_over_long_prompt_is_flagged_and_warned(caplog: pytest.LogCaptureFixture) -> None:
    tok = build_tiny_tokenizer()
    model = build_tiny_model(tok, **SMALL)
    with caplog.at_level(logging.WARNING, logger="trainer_client.grpo.rollout"):
        r = generate(model, tok, ["x" * 40, "y"], Sampling(max_new_tokens=2, max_prompt_len=10))
    assert r.prompt_truncated is not None and r.prompt_truncated.tolist() == [True, False]
    assert "1 of 2 prompts are longer than max_prompt_len=10" in caplog.text


# ---- 9. bf16 autocast and gradient checkpointing on CPU -------------------------------------------------------
def test_gradient_checkpointing_gives_the_same_update(tmp_path: Path) -> None:
    params = []
    for checkpointing in (False, True):
        model, _, r = _rollout(["2+2=4\n</think>\n\\boxed{4}", "2+2=5\n</think>\n\\boxed{5}"])
        if checkpointing:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        cfg = tiny_config(tmp_path, lr=1e-2)
        policy_update(cfg, run_of(model, cfg.lr), r, torch.tensor([1.0, -1.0]), r.completion_mask, None, None)
        params.append([p.detach().clone() for p in model.parameters()])
    for a, b in zip(*params, strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def test_bf16_autocast_update_is_close_to_float32(tmp_path: Path) -> None:
    losses = []
    for bf16 in (False, True):
        model, _, r = _rollout(["2+2=4\n</think>\n\\boxed{4}", "2+2=5\n</think>\n\\boxed{5}"])
        cfg = tiny_config(tmp_path, lr=1e-2, beta=0.1)
        stats = policy_update(
            cfg,
            run_of(model, cfg.lr, bf16=bf16),
            r,
            torch.tensor([1.0, -1.0]),
            r.completion_mask,
            None,
            torch.zeros(r.completion_ids.shape),
        )
        losses.append((stats["loss"], stats["kl"], stats["grad_norm"]))
    assert losses[1] == pytest.approx(losses[0], rel=0.05)


def test_training_runs_with_bf16_and_gradient_checkpointing_on_cpu(tmp_path: Path) -> None:
    cfg = tiny_config(
        tmp_path,
        steps=2,
        bf16=True,
        gradient_checkpointing=True,
        beta=0.05,
        mu=2,
        eval_every=2,
        task_eval_size=2,
    )
    history = train(cfg, client_factory=lambda: FakeRewardClient(digit_bonus=True))
    last = history[-1]
    assert last["grad_norm"] > 0 and math.isfinite(last["loss"]) and math.isfinite(last["kl"])
    assert "eval_accuracy" in last


def test_a_bf16_checkpoint_is_trained_in_float32(tmp_path: Path) -> None:
    from trainer_client.grpo.model import load_model_and_tokenizer

    tok = build_tiny_tokenizer()
    build_tiny_model(tok, **SMALL).to(torch.bfloat16).save_pretrained(tmp_path / "ckpt")
    tok.save_pretrained(tmp_path / "ckpt")
    model, _ = load_model_and_tokenizer(str(tmp_path / "ckpt"))
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    ref, _ = load_model_and_tokenizer(str(tmp_path / "ckpt"), dtype=torch.bfloat16)
    assert {p.dtype for p in ref.parameters()} == {torch.bfloat16}
