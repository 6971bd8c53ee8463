"""``compute_score`` for verl's custom reward function, backed by the reward service.

verl calls ``compute_score(data_source=..., solution_str=..., ground_truth=..., extra_info=...)`` once per
sample (``NaiveRewardManager``; its reward loop awaits the function when it is a coroutine function and
otherwise runs it in a thread, and may add keyword arguments such as ``reward_router_address``), or
``compute_score(data_sources=..., solution_strs=..., ground_truths=..., extra_infos=...)`` once per batch
(``BatchRewardManager``). ``solution_str`` is the response without the prompt. A dict result must hold
``score``; every other key becomes a ``reward_extra_info`` list that verl logs (numbers are averaged, strings
are skipped, ``pred`` feeds its majority-vote metrics), so every dict here has the same keys with the same
types:

``score`` (float: the weighted reward), ``acc`` (1.0/0.0, so ``algorithm.filter_groups.metric=acc`` works),
``format``, ``language`` (floats), ``outcome`` (str), ``pred`` (the extracted answer, ``""`` if none) and
``masked`` (bool: accuracy could not be judged, the item failed, or the service was unreachable; verl has no
way to mask a sample, so these score 0.0 and are flagged instead).

Configuration: environment variables ``VREWARDS_URL`` (default ``http://127.0.0.1:8000``, several URLs
separated by commas) and ``VREWARDS_API_TOKEN``, or :func:`configure`. One client per process is created on
first use and reused by the sync forms; concurrent ``compute_score_async`` calls on one event loop are
gathered into one request per ``batch_window_s``.

verl loads the file named by ``custom_reward_function.path`` as a module of its own; this file only
re-exports :mod:`trainer_client.integrations._verl`, so loading it by path still shares one configuration
and one client with ``import trainer_client.integrations.verl``. In Ray workers, set ``VREWARDS_URL`` in
their environment, or point ``custom_reward_function.path`` at a file of yours that calls :func:`configure`
at import and re-exports ``compute_score``.

verl config::

    custom_reward_function.path=/path/to/site-packages/trainer_client/integrations/verl.py
    custom_reward_function.name=compute_score        # compute_score_async for the reward loop
    reward_model.reward_manager=naive                # or batch with name=compute_score_batch
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
