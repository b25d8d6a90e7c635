"""Developer tools: fixtures, benchmark models, the demo model's recipe, exports and screenshots.

Each runs as a module from the repository root, e.g. ``python -m tools.make_fixtures``; the ones that
build or export NeMo models need the NeMo venv (``$NEMO_PYTHON``, see the README's Development section).
"""
