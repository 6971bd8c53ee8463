"""``compute_score`` for verl's custom reward function, backed by the reward service.

verl calls ``compute_score(data_source=..., solution_str=..., ground_truth=..., extra_info=...)`` once per
sample (``NaiveRewardManager``; its reward loop awaits the function when it is a coroutine function and
otherwise runs it in a thread, and may add keyword arguments such as ``reward_router_address``), or
``compute_score(data_sources=..., solution_strs=..., ground_truths=..., extra_infos=...)`` once per batch
(``BatchRewardManager``). ``solution_str`` is the response without the prompt. A dict result must hold
``score``; every other key becomes a ``reward_extra_info`` list that verl logs (numbers are averaged, strings
are skipped, ``pred`` feeds its majority-vote metrics), so every dict here has the same keys with the same
types:

``score`` (float: the weighted reward), ``acc`` (the raw correctness: accuracy, or a code item's code score,
so ``algorithm.filter_groups.metric=acc`` works), ``format``, ``language``, ``code`` (floats), ``outcome``
(str: the accuracy outcome, or a code item's ``code_outcome``), ``pred`` (the extracted answer, ``""`` if
none) and ``masked`` (bool: correctness could not be judged, the item failed, or the service was unreachable
or known down; verl has no way to mask a sample, so these score 0.0 and are flagged instead).

``ground_truth`` may be one answer, a list of acceptable answers (verl hands it over as a numpy array), or a
code test spec as verl's code datasets store it (a JSON string or dict with ``inputs``/``outputs``, optional
``fn_name``, or ``kind``/``cases``), sent as the item's ``tests``.

Outages: the calls of one process share what they learn. Once a call fails after its retries (unreachable,
timing out, 5xx), later calls fail at once (masked, or raised with ``on_error="raise"``) until a ``GET
/health`` probe, at most one per ``probe_interval_s`` (default 5 s), sees the service up again.

Configuration: environment variables ``VREWARDS_URL`` (default ``http://127.0.0.1:8000``, several URLs
separated by commas) and ``VREWARDS_API_TOKEN``, or :func:`configure`. One client per process is created on
first use and reused by the sync forms; concurrent ``compute_score_async`` calls on one event loop are
gathered into one request per ``batch_window_s``.

verl loads the file named by ``custom_reward_function.path`` as a module of its own; this file only
re-exports :mod:`trainer_client.integrations._verl`, so loading it by path still shares one configuration
and one client with ``import trainer_client.integrations.verl``. In Ray workers, set ``VREWARDS_URL`` in
their environment, or point ``custom_reward_function.path`` at a file of yours that calls :func:`configure`
at import and re-exports ``compute_score``.

verl config, per version (each tested as that version calls it, in ``tests/integrations``)::

    # verl >= 0.9: the reward loop (its registry has naive, dapo, gdpo, limited, remote; no batch)
    reward.custom_reward_function.path=/path/to/site-packages/trainer_client/integrations/verl.py
    reward.custom_reward_function.name=compute_score_async   # awaited; concurrent samples share requests
    reward.reward_manager.name=naive
    # (0.9 still reads the <= 0.8 keys below and moves them under ``reward.``; ``batch`` then fails)

    # verl <= 0.8: the reward managers
    custom_reward_function.path=/path/to/site-packages/trainer_client/integrations/verl.py
    custom_reward_function.name=compute_score_batch   # with reward_model.reward_manager=batch (one call a batch)
    reward_model.reward_manager=batch                 # or naive with name=compute_score (one call a sample)
"""

from trainer_client.integrations._verl import (
    Settings,
    compute_score,
    compute_score_async,
    compute_score_batch,
    configure,
    make_item,
    to_verl,
)

__all__ = [
    "Settings",
    "compute_score",
    "compute_score_async",
    "compute_score_batch",
    "configure",
    "make_item",
    "to_verl",
]
