"""Benchmarks that print ratios against anchors measured in the same run (``python -m bench.<name>``)."""
