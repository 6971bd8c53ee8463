"""The reward service: FastAPI over the :mod:`rewards` library, with hardened worker processes.

``create_app(settings)`` in :mod:`app.main` builds the ASGI app; ``vrewards serve`` (:mod:`app.cli`) runs it.
"""
