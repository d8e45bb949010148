"""A stock-style Temporal project: workflows and their tests, written the SDK's way.

No replaykit API anywhere: ``tests/plugin/test_harvest.py`` copies this folder into a pytester
project and harvests it with ``pytest --replaykit-harvest``.
"""
