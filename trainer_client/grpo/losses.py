"""The GRPO maths as pure torch functions, each testable against hand-computed values.

Shapes: ``rewards`` is ``[num_groups, G]`` (one row per prompt, NaN where the reward is null); per-token
tensors are ``[num_sequences, completion_len]`` with a 0/1 ``mask`` over the real completion tokens.
"""

from __future__ import annotations

import torch

from trainer_client.grpo.config import AdvantageScaling, KLEstimator, LossAggregation

LOG_RATIO_CLAMP = 20.0  # |log ratio| above this is clamped: exp stays finite in float32 (and bf16)


def nan_group_stats(rewards: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-row mean, unbiased std and count over the non-NaN entries.

    A row with fewer than two valid entries has std 0; a row with none has mean 0.

    Example:
        >>> mean, std, n = nan_group_stats(torch.tensor([[1.0, float("nan"), 3.0]]))
        >>> mean.tolist(), std.tolist(), n.tolist()
        ([2.0], [1.4142135381698608], [2.0])
    """
    valid = ~torch.isnan(rewards)
    count = valid.sum(dim=-1).to(rewards.dtype)
    filled = torch.where(valid, rewards, torch.zeros_like(rewards))
    mean = filled.sum(dim=-1) / count.clamp(min=1.0)
    centred = torch.where(valid, rewards - mean.unsqueeze(-1), torch.zeros_like(rewards))
    var = (centred**2).sum(dim=-1) / (count - 1.0).clamp(min=1.0)
    std = torch.where(count >= 2, var.sqrt(), torch.zeros_like(var))
    return mean, std, count


def group_advantages(
    rewards: torch.Tensor, scaling: AdvantageScaling = "group", eps: float = 1e-4
) -> tuple[torch.Tensor, torch.Tensor]:
    """Group-relative advantages: reward minus its group's mean, scaled by a std or not at all.

    ``scaling``: ``"group"`` divides by the group's std (GRPO), ``"batch"`` by the std of every valid reward
    in the batch, ``"none"`` leaves the difference unscaled (Dr. GRPO). NaN rewards (null: could not be
    judged, or the service failed) are left out of every statistic and get advantage 0, so a failure is never
    counted as a zero reward. A group whose valid rewards are all equal gets advantage 0.

    Args:
        rewards: ``[num_groups, G]`` rewards, NaN where null.
        scaling: how to scale the centred rewards.
        eps: added to the std before dividing.

    Returns:
        ``(advantages, valid)``: both ``[num_groups, G]``; ``valid`` is the non-NaN mask.

    Example:
        >>> adv, valid = group_advantages(torch.tensor([[1.0, 0.0, float("nan")]]), "none")
        >>> adv.tolist(), valid.tolist()
        ([[0.5, -0.5, 0.0]], [[True, True, False]])
    """
    valid = ~torch.isnan(rewards)
    mean, std, _ = nan_group_stats(rewards)
    centred = torch.where(valid, rewards - mean.unsqueeze(-1), torch.zeros_like(rewards))
    if scaling == "group":
        denom = std.unsqueeze(-1).expand_as(centred) + eps
    elif scaling == "batch":
        _, batch_std, _ = nan_group_stats(rewards.reshape(1, -1))
        denom = (batch_std + eps).expand_as(centred)
    elif scaling == "none":
        denom = torch.ones_like(centred)
    else:
        raise ValueError(f"advantage scaling must be group, batch or none, not {scaling!r}")
    # A group whose rewards are all equal has centred 0; with eps=0 its std is 0 too: advantage 0, not NaN.
    adv = torch.where(valid & (denom > 0), centred / torch.where(denom > 0, denom, 1.0), 0.0)
    return adv, valid


def clipped_surrogate(
    logps: torch.Tensor,
    old_logps: torch.Tensor,
    advantages: torch.Tensor,
    eps_low: float = 0.2,
    eps_high: float = 0.2,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """PPO's clipped surrogate per token, with separate low and high clip ranges (DAPO's clip-higher).

    ``loss = -min(r * A, clip(r, 1 - eps_low, 1 + eps_high) * A)`` with ``r = exp(logps - old_logps)``; the
    log-ratio is clamped to ``±LOG_RATIO_CLAMP`` first, so a token the policy has moved far from cannot turn
    the loss into inf or NaN.

    Args:
        logps: ``[N, T]`` log-probs of the sampled tokens under the policy being trained.
        old_logps: ``[N, T]`` log-probs under the policy that sampled them (no gradient).
        advantages: ``[N]`` one advantage per sequence.
        eps_low: lower clip range.
        eps_high: upper clip range.

    Returns:
        ``(loss, clipped_low, clipped_high)``: per-token loss and boolean masks of the tokens whose
        gradient the clip removed (ratio below ``1 - eps_low`` with A < 0, above ``1 + eps_high`` with A > 0).

    Example:
        >>> loss, lo, hi = clipped_surrogate(torch.log(torch.tensor([[1.5]])), torch.zeros(1, 1), torch.ones(1))
        >>> round(loss.item(), 4), lo.item(), hi.item()
        (-1.2, False, True)
    """
    ratio = torch.exp((logps - old_logps).clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP))
    adv = advantages.unsqueeze(-1)
    unclipped = ratio * adv
    clipped = torch.clamp(ratio, 1.0 - eps_low, 1.0 + eps_high) * adv
    loss = -torch.min(unclipped, clipped)
    clipped_low = (ratio < 1.0 - eps_low) & (adv < 0)
    clipped_high = (ratio > 1.0 + eps_high) & (adv > 0)
    return loss, clipped_low, clipped_high


def kl_penalty(logps: torch.Tensor, ref_logps: torch.Tensor, estimator: KLEstimator = "k3") -> torch.Tensor:
    """Per-token estimate of KL(policy || reference) from samples of the policy (Schulman's k1, k2, k3).

    With ``d = ref_logps - logps``: ``k1 = -d``, ``k2 = d**2 / 2``, ``k3 = exp(d) - d - 1`` (unbiased and
    never negative; GRPO's choice). ``d`` is clamped to ``±LOG_RATIO_CLAMP``.

    Example:
        >>> round(kl_penalty(torch.tensor([0.0]), torch.tensor([-1.0]), "k3").item(), 4)
        0.3679
    """
    d = (ref_logps - logps).clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP)
    if estimator == "k1":
        return -d
    if estimator == "k2":
        return 0.5 * d**2
    if estimator == "k3":
        return torch.exp(d) - d - 1.0
    raise ValueError(f"kl estimator must be k1, k2 or k3, not {estimator!r}")


def aggregate(
    per_token: torch.Tensor,
    mask: torch.Tensor,
    mode: LossAggregation = "sequence",
    *,
    constant: float | None = None,
    num_sequences: float | None = None,
    num_tokens: float | None = None,
) -> torch.Tensor:
    """Reduce a per-token loss to a scalar.

    ``"sequence"`` (GRPO): mean over tokens within each sequence, then mean over *all* rows of the batch.
    ``"token"`` (DAPO): sum over every token of the batch divided by the number of unmasked tokens.
    ``"constant"`` (Dr. GRPO): sum over every token divided by ``rows * constant`` (e.g. the maximum
    completion length), so no length bias enters through the normalizer.

    ``sequence`` and ``constant`` divide by every row, masked ones included (as TRL and verl do): a row
    masked for a null reward or a truncation contributes 0 and still counts, so masking rows never makes the
    gradient of the others grow. ``num_sequences``/``num_tokens`` override the counts of this call, so that
    micro-batches of a gradient accumulation are normalised by the whole batch (pass all its rows and all its
    unmasked tokens) and their sum equals the full batch's loss.

    Example:
        >>> aggregate(torch.tensor([[1.0, 3.0], [2.0, 0.0]]), torch.tensor([[1, 1], [1, 0]]), "token").item()
        2.0
        >>> aggregate(torch.tensor([[1.0, 3.0], [2.0, 0.0]]), torch.tensor([[1, 1], [0, 0]]), "sequence").item()
        1.0
    """
    mask = mask.to(per_token.dtype)
    summed = (per_token * mask).sum(dim=-1)
    lengths = mask.sum(dim=-1)
    if mode == "sequence":
        per_seq = summed / lengths.clamp(min=1.0)
        denom = num_sequences if num_sequences is not None else float(per_token.shape[0])
        return per_seq.sum() / max(denom, 1.0)
    if mode == "token":
        denom = num_tokens if num_tokens is not None else float(lengths.sum().item())
        return summed.sum() / max(denom, 1.0)
    if mode == "constant":
        if constant is None or constant <= 0:
            raise ValueError("constant aggregation needs a positive constant (e.g. max_completion_len)")
        denom = num_sequences if num_sequences is not None else float(per_token.shape[0])
        return summed.sum() / (max(denom, 1.0) * constant)
    raise ValueError(f"loss aggregation must be sequence, token or constant, not {mode!r}")


def overlong_penalty(lengths: torch.Tensor, max_len: int, buffer: int, factor: float = 1.0) -> torch.Tensor:
    """DAPO's soft overlong punishment, added to the reward.

    0 up to ``max_len - buffer`` tokens, then falling linearly to ``-factor`` at ``max_len``, and ``-factor``
    beyond. ``buffer = 0`` switches it off.

    Example:
        >>> overlong_penalty(torch.tensor([10, 15, 20]), max_len=20, buffer=10).tolist()
        [0.0, -0.5, -1.0]
    """
    lengths = lengths.to(torch.float32)
    if buffer <= 0:
        return torch.zeros_like(lengths)
    start = float(max_len - buffer)
    over = ((lengths - start) / float(buffer)).clamp(min=0.0, max=1.0)
    return torch.where(over > 0, -over * factor, torch.zeros_like(over))


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> float:
    """Mean of ``values`` where ``mask`` is set, 0.0 when nothing is.

    Example:
        >>> masked_mean(torch.tensor([1.0, 5.0]), torch.tensor([1, 0]))
        1.0
    """
    mask = mask.to(values.dtype)
    count = float(mask.sum().item())
    return float((values * mask).sum().item() / count) if count > 0 else 0.0
