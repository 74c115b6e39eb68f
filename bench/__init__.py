"""Benchmarks of Customer Service Control: ``uv run python -m bench`` (see bench/README.md).

Benchmarks print; they never fail a build. Every figure stands beside a baseline
measured in the same run on the same machine, and the ratio of the two is the result.
"""
