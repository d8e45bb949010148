"""Imported by a passed-through module, so outside the sandbox's importer."""

SUFFIX = "-passed"
