"""Shared plumbing every layer may use; nothing here imports a higher layer.

- ``_errors``: the exception types (re-exported by :mod:`replaykit`).
- ``_sync``: the one bridge from sync code to replaykit's async implementations.
- ``_runtime``: one SDK runtime for replaykit's clients, workers and replayers.
- ``_sdk_compat``: every touch of a private part of the temporalio SDK.
- ``_imports``: resolving ``module:attr`` and ``path/to/file.py:attr`` references.
- ``_lazy``: the lazy re-exports of the package ``__init__`` modules.

There is no public name here; import the private module you need.
"""
