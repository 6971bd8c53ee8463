"""The pages the service serves itself: the inspection page (``/``), the live view (``/live``) and the API
docs (``/docs``), with every script and style sheet they need packaged here, so they work with no network.
"""
