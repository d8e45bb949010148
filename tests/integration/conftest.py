"""Fixtures the integration tests share."""

from .agent_support import next_release as next_release
