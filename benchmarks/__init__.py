"""Benchmarks of taskrouter_flask, each measured against a baseline in the same run.

Not tests: they print figures and assert nothing about timings. See ``README.md``.
"""

from __future__ import annotations
