"""The GRPO maths against values computed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from trainer_client.grpo.losses import (
    aggregate,
    clipped_surrogate,
    group_advantages,
    kl_penalty,
    masked_mean,
    nan_group_stats,
    overlong_penalty,
)

NAN = float("nan")
S3 = math.sqrt(1.0 / 3.0)  # unbiased std of {1, 0, 1, 0} and of {1, 0, 0}

# --- advantages: (rewards, scaling, expected advantages, expected valid mask)
ADVANTAGE_CASES = [
    # GRPO: centred and divided by the group's unbiased std
    ([[1.0, 0.0, 1.0, 0.0]], "group", [[0.5 / S3, -0.5 / S3, 0.5 / S3, -0.5 / S3]], [[1, 1, 1, 1]]),
    (
        [[1.0, 0.0], [3.0, 1.0]],
        "group",
        [[0.5 / math.sqrt(0.5), -0.5 / math.sqrt(0.5)], [1 / math.sqrt(2), -1 / math.sqrt(2)]],
        [[1, 1], [1, 1]],
    ),
    # null rewards are left out of the statistics and get advantage 0
    ([[1.0, NAN, 0.0, 0.0]], "group", [[(2 / 3) / S3, 0.0, -(1 / 3) / S3, -(1 / 3) / S3]], [[1, 0, 1, 1]]),
    # zero-std group, all-null group, group with one valid reward: all advantage 0
    ([[1.0, 1.0, 1.0, 1.0]], "group", [[0.0, 0.0, 0.0, 0.0]], [[1, 1, 1, 1]]),
    ([[NAN, NAN]], "group", [[0.0, 0.0]], [[0, 0]]),
    ([[2.0, NAN]], "group", [[0.0, 0.0]], [[1, 0]]),
    # batch: centred per group, divided by the std of every valid reward in the batch ({1,0,1,1}: std 0.5)
    ([[1.0, 0.0], [1.0, 1.0]], "batch", [[1.0, -1.0], [0.0, 0.0]], [[1, 1], [1, 1]]),
    # valid rewards {1, 0, 1, 1, 1}: mean 0.8, unbiased variance (4 * 0.04 + 0.64) / 4 = 0.2
    (
        [[1.0, 0.0], [1.0, NAN], [1.0, 1.0]],
        "batch",
        [[0.5 / math.sqrt(0.2), -0.5 / math.sqrt(0.2)], [0.0, 0.0], [0.0, 0.0]],
        [[1, 1], [1, 0], [1, 1]],
    ),
    # none (Dr. GRPO): centred only
    ([[3.0, 1.0], [0.0, NAN]], "none", [[1.0, -1.0], [0.0, 0.0]], [[1, 1], [1, 0]]),
    ([[1.5, 0.5, 0.0, 0.0]], "none", [[1.0, 0.0, -0.5, -0.5]], [[1, 1, 1, 1]]),
]


@pytest.mark.parametrize(("rewards", "scaling", "expected", "valid"), ADVANTAGE_CASES)
def test_group_advantages(rewards, scaling, expected, valid) -> None:
    adv, got_valid = group_advantages(torch.tensor(rewards, dtype=torch.float64), scaling, eps=0.0)
    assert torch.allclose(adv, torch.tensor(expected, dtype=torch.float64), atol=1e-9)
    assert got_valid.tolist() == [[bool(v) for v in row] for row in valid]
    assert not torch.isnan(adv).any()


def test_group_advantages_eps_shrinks_but_keeps_sign() -> None:
    adv, _ = group_advantages(torch.tensor([[1.0, 0.0, 1.0, 0.0]]), "group", eps=1e-4)
    assert adv[0, 0].item() == pytest.approx(0.5 / (S3 + 1e-4), rel=1e-6)


def test_group_advantages_rejects_unknown_scaling() -> None:
    with pytest.raises(ValueError, match="advantage scaling"):
        group_advantages(torch.zeros(1, 2), "median")  # type: ignore[arg-type]


# --- NaN-aware group statistics: (rewards, mean, std, count)
STATS_CASES = [
    ([[1.0, NAN, 3.0]], [2.0], [math.sqrt(2.0)], [2.0]),
    ([[NAN, NAN]], [0.0], [0.0], [0.0]),
    ([[4.0]], [4.0], [0.0], [1.0]),
]


@pytest.mark.parametrize(("rewards", "mean", "std", "count"), STATS_CASES)
def test_nan_group_stats(rewards, mean, std, count) -> None:
    m, s, n = nan_group_stats(torch.tensor(rewards, dtype=torch.float64))
    assert m.tolist() == pytest.approx(mean)
    assert s.tolist() == pytest.approx(std)
    assert n.tolist() == count


# --- clipped surrogate (eps_low 0.2, eps_high 0.28): (ratio, advantage, loss, d loss / d logp, low, high)
SURROGATE_CASES = [
    # inside the trust region: loss -r*A, gradient -r*A
    (1.0, 1.0, -1.0, -1.0, False, False),
    (1.1, -2.0, 2.2, 2.2, False, False),
    # positive advantage: at the high edge, beyond it (clipped: no gradient), below the low edge (not clipped)
    (1.28, 1.0, -1.28, None, None, None),
    (1.5, 1.0, -1.28, 0.0, False, True),
    (0.5, 1.0, -0.5, -0.5, False, False),
    # negative advantage: at the low edge, beyond it (clipped), above the high edge (not clipped: pessimistic)
    (0.8, -1.0, 0.8, None, None, None),
    (0.5, -1.0, 0.8, 0.0, True, False),
    (1.5, -1.0, 1.5, 1.5, False, False),
    # zero advantage: no loss, no gradient
    (3.0, 0.0, 0.0, 0.0, False, False),
]


@pytest.mark.parametrize(("ratio", "advantage", "loss", "grad", "low", "high"), SURROGATE_CASES)
def test_clipped_surrogate(ratio, advantage, loss, grad, low, high) -> None:
    logp = torch.tensor([[math.log(ratio)]], dtype=torch.float64, requires_grad=True)
    old = torch.zeros(1, 1, dtype=torch.float64)
    got, clipped_low, clipped_high = clipped_surrogate(
        logp, old, torch.tensor([advantage], dtype=torch.float64), 0.2, 0.28
    )
    assert got.item() == pytest.approx(loss, abs=1e-9)
    got.sum().backward()
    assert logp.grad is not None
    if grad is not None:
        assert logp.grad.item() == pytest.approx(grad, abs=1e-9)
    if low is not None:
        assert clipped_low.item() is low
        assert clipped_high.item() is high


def test_clipped_surrogate_symmetric_default_matches_ppo() -> None:
    loss, _, _ = clipped_surrogate(
        torch.log(torch.tensor([[1.5, 0.5]])), torch.zeros(1, 2), torch.tensor([1.0])
    )
    assert loss[0].tolist() == pytest.approx([-1.2, -0.5])


# --- KL estimators: (logp, ref_logp, estimator, expected)
KL_CASES = [
    (0.0, -1.0, "k1", 1.0),
    (0.0, -1.0, "k2", 0.5),
    (0.0, -1.0, "k3", math.exp(-1.0)),
    (-1.0, 0.0, "k1", -1.0),
    (-1.0, 0.0, "k2", 0.5),
    (-1.0, 0.0, "k3", math.e - 2.0),
    (-0.3, -0.3, "k1", 0.0),
    (-0.3, -0.3, "k2", 0.0),
    (-0.3, -0.3, "k3", 0.0),
]


@pytest.mark.parametrize(("logp", "ref", "estimator", "expected"), KL_CASES)
def test_kl_penalty(logp, ref, estimator, expected) -> None:
    got = kl_penalty(
        torch.tensor([logp], dtype=torch.float64), torch.tensor([ref], dtype=torch.float64), estimator
    )
    assert got.item() == pytest.approx(expected, abs=1e-12)


def test_k3_gradient_pulls_towards_reference() -> None:
    # d k3 / d logp = 1 - exp(ref - logp): positive when the policy is above the reference
    logp = torch.tensor([0.0], requires_grad=True)
    kl_penalty(logp, torch.tensor([-1.0]), "k3").sum().backward()
    assert logp.grad is not None
    assert logp.grad.item() == pytest.approx(1 - math.exp(-1.0))


# --- aggregation over [[1, 3, 5], [2, -, -]] (masked tokens hold 0): (mode, constant, expected)
PER_TOKEN = [[1.0, 3.0, 5.0], [2.0, 9.0, 9.0]]
MASK = [[1, 1, 1], [1, 0, 0]]
AGGREGATION_CASES = [
    ("sequence", None, (3.0 + 2.0) / 2),
    ("token", None, 11.0 / 4),
    ("constant", 3.0, 11.0 / (2 * 3.0)),
    ("constant", 10.0, 11.0 / (2 * 10.0)),
]


@pytest.mark.parametrize(("mode", "constant", "expected"), AGGREGATION_CASES)
def test_aggregate(mode, constant, expected) -> None:
    got = aggregate(torch.tensor(PER_TOKEN), torch.tensor(MASK), mode, constant=constant)
    assert got.item() == pytest.approx(expected)


@pytest.mark.parametrize(("mode", "constant"), [("sequence", None), ("token", None), ("constant", 3.0)])
def test_aggregate_micro_batches_sum_to_the_whole(mode, constant) -> None:
    x, m = torch.tensor(PER_TOKEN), torch.tensor(MASK)
    whole = aggregate(x, m, mode, constant=constant)
    parts = sum(
        aggregate(x[i : i + 1], m[i : i + 1], mode, constant=constant, num_sequences=2.0, num_tokens=4.0)
        for i in range(2)
    )
    assert float(parts) == pytest.approx(whole.item())


def test_aggregate_fully_masked_sequence_contributes_nothing() -> None:
    got = aggregate(
        torch.tensor([[4.0, 4.0], [7.0, 7.0]]), torch.tensor([[1, 1], [0, 0]]), "sequence", num_sequences=1.0
    )
    assert got.item() == pytest.approx(4.0)


@pytest.mark.parametrize(("mode", "constant"), [("constant", None), ("constant", 0.0), ("mean", None)])
def test_aggregate_rejects_bad_modes(mode, constant) -> None:
    with pytest.raises(ValueError):
        aggregate(torch.ones(1, 1), torch.ones(1, 1), mode, constant=constant)


# --- DAPO overlong shaping: (lengths, max_len, buffer, factor, expected)
OVERLONG_CASES = [
    ([10, 15, 20, 25], 20, 10, 1.0, [0.0, -0.5, -1.0, -1.0]),
    ([12, 18], 20, 4, 0.5, [0.0, -0.25]),
    ([20, 30], 20, 0, 1.0, [0.0, 0.0]),
]


@pytest.mark.parametrize(("lengths", "max_len", "buffer", "factor", "expected"), OVERLONG_CASES)
def test_overlong_penalty(lengths, max_len, buffer, factor, expected) -> None:
    assert overlong_penalty(torch.tensor(lengths), max_len, buffer, factor).tolist() == pytest.approx(
        expected
    )


# --- masked mean
@pytest.mark.parametrize(
    ("values", "mask", "expected"),
    [([1.0, 5.0], [1, 0], 1.0), ([1.0, 5.0], [0, 0], 0.0), ([1.0, 5.0], [1, 1], 3.0)],
)
def test_masked_mean(values, mask, expected) -> None:
    assert masked_mean(torch.tensor(values), torch.tensor(mask)) == expected
