"""Helpers of ``demo.py`` and ``serve.py``: run the two servers, drive them, report."""
