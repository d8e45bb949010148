"""LLM traffic for scenarios: replayed from cassettes, or recorded on demand.

By default a scenario's LLM calls are served from ``fixtures/cassettes/<name>.yaml`` (no network,
no key; an unexpected request is a non-retryable ``CassetteMiss`` failure with a body diff).
Set ``REPLAYKIT_RECORD_CASSETTES`` to re-record:

* ``REPLAYKIT_RECORD_CASSETTES=scripted`` — against replaykit's scripted local endpoint;
* ``REPLAYKIT_RECORD_CASSETTES=openai`` — against the real API named by ``OPENAI_BASE_URL``
  (default ``https://api.openai.com/v1``) with ``OPENAI_API_KEY``. Credentials are filtered out
  of the cassette either way.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from replaykit.record import CASSETTE_DIR_ENV, Rule, cassette, scripted_openai

RECORD_ENV = "REPLAYKIT_RECORD_CASSETTES"
#: Base URL used while replaying: never resolvable, so a request that escapes the cassette fails.
REPLAY_BASE_URL = "http://llm.replaykit.invalid/v1"


def cassette_dir() -> Path:
    env = os.environ.get(CASSETTE_DIR_ENV)
    return Path(env) if env else Path(__file__).resolve().parents[1] / "fixtures" / "cassettes"


@contextmanager
def _env(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def offline_llm(name: str, *, rules: Sequence[Rule] = ()) -> Iterator[None]:
    """Serve the block's LLM calls from cassette ``name`` (or record it; see module doc).

    Args:
        name: Cassette name (file ``<cassette dir>/<name>.yaml``).
        rules: Extra scripted-endpoint rules used when recording with the scripted endpoint
            (e.g. two 429 answers before the real one).
    """
    mode = os.environ.get(RECORD_ENV, "").strip().lower()
    directory = cassette_dir()
    if mode in ("", "0", "no", "false"):
        with _env(OPENAI_BASE_URL=REPLAY_BASE_URL, OPENAI_API_KEY="sk-replay-offline"):
            with cassette(name, cassette_dir=directory, record_mode="none"):
                yield
    elif mode == "openai":
        base = os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1")
        with _env(OPENAI_BASE_URL=base), cassette(name, cassette_dir=directory, record_mode="all"):
            yield
    else:
        with scripted_openai(rules=rules, set_env=True):
            with cassette(name, cassette_dir=directory, record_mode="all"):
                yield


@contextmanager
def fault_worker_llm(name: str) -> Iterator[None]:
    """Worker context for fault runs (``--worker-context reference_agents._offline:fault_worker_llm``).

    Serves the worker process's LLM calls from cassette ``name`` (the scenario's name), with
    repeats allowed: an activity retried after its worker was killed asks the same question
    again and must get the same answer.
    """
    with _env(OPENAI_BASE_URL=REPLAY_BASE_URL, OPENAI_API_KEY="sk-replay-offline"):
        with cassette(
            name, cassette_dir=cassette_dir(), record_mode="none", allow_playback_repeats=True
        ):
            yield
