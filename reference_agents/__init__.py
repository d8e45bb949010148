"""Reference AI-agent workflows built on the patterns of the seed article.

Each agent module exports ``WORKFLOWS`` and ``ACTIVITIES`` lists; ``reference_agents.worker``
hosts them all. Activities live in :mod:`reference_agents.activities` (I/O: SQLite, the
``openai`` client, the bundled corpus) and are imported by the workflow modules through
``workflow.unsafe.imports_passed_through()``, so the sandbox never re-imports them.
"""
