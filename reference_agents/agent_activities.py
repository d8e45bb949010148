"""Tools the framework-based reference agents share: read the corpus, write case notes.

Plain functions do the work (the LangGraph agent's ``tools`` node and the Pydantic AI agent's
tools call them inside their own activities); ``search_knowledge_base`` and ``save_case_note``
are the same work as Temporal activities, which the OpenAI Agents agent exposes to its model
with ``activity_as_tool``. Everything is deterministic: the corpus is bundled, and a note's id
comes from its topic (unique per workflow), so a retried write never adds a second row and
the same conversation gives the same ids in every execution.
"""

from __future__ import annotations

from temporalio import activity

from reference_agents import store, tools

_NOTES_SCHEMA = """
CREATE TABLE IF NOT EXISTS case_notes (
    workflow_id TEXT NOT NULL, note_id TEXT NOT NULL, topic TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (workflow_id, note_id)
)
"""


def knowledge_base_answer(query: str, limit: int = 2) -> str:
    """The best corpus passages for ``query``, one ``[doc id] title: snippet`` line each."""
    hits = tools.search(query, limit=limit)
    if not hits:
        return f"no documents match {query!r}"
    return "\n".join(f"[{doc.doc_id}] {doc.title}: {snippet}" for doc, _, snippet in hits)


def write_case_note(workflow_id: str, topic: str, body: str) -> str:
    """Store a note for the workflow's case (idempotent per workflow and topic); its id."""
    slug = "-".join(tools.tokens(topic)[:6]) or "note"
    note_id = f"note-{slug}"
    with store.connect() as conn:
        conn.execute(_NOTES_SCHEMA)
        conn.execute(
            "INSERT OR IGNORE INTO case_notes VALUES (?, ?, ?, ?)",
            (workflow_id, note_id, topic, body),
        )
    return note_id


def case_notes(workflow_id: str) -> list[tuple[str, str, str]]:
    """(note id, topic, body) of every note stored for a workflow, oldest first."""
    with store.connect() as conn:
        conn.execute(_NOTES_SCHEMA)
        rows = conn.execute(
            "SELECT note_id, topic, body FROM case_notes WHERE workflow_id = ? ORDER BY rowid",
            (workflow_id,),
        ).fetchall()
    return [(str(a), str(b), str(c)) for a, b, c in rows]


@activity.defn
async def search_knowledge_base(query: str) -> str:
    """Search the team's knowledge base of durable-execution articles.

    Args:
        query: A few keywords describing what to look up.
    """
    return knowledge_base_answer(query)


@activity.defn
async def save_case_note(topic: str, note: str) -> str:
    """Save a note to the customer's case file and return the note id.

    Args:
        topic: What the note is about, in a few words.
        note: The note itself.
    """
    return write_case_note(activity.info().workflow_id, topic, note)
