"""Workflows for the verdict-cache tests: each depends on code in its own way."""
