"""Adapters that plug the reward service into the trainers people already run.

- :mod:`trainer_client.integrations.trl`: async reward functions for TRL's ``GRPOTrainer``, one per component.
- :mod:`trainer_client.integrations.verl`: ``compute_score`` (sync, async, batched) for verl's reward managers.

OpenRLHF needs no adapter: point its ``--reward.remote_url`` (older ``--remote_rm_url``) at the service's
``/get_reward``, or ``/get_reward/<token>`` when the service requires a token (OpenRLHF cannot send headers). Each adapter is imported on demand and imports nothing heavier than httpx itself.
"""
