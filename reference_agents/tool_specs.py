"""JSON schemas of the tools the OpenAI agent offers the model (pure data, sandbox-safe)."""

from __future__ import annotations

from typing import Any

TOOL_SPECS: dict[str, dict[str, Any]] = {
    "search_corpus": {
        "type": "function",
        "function": {
            "name": "search_corpus",
            "description": "Search the research corpus and return the best matching documents.",
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "string", "description": "What to look for."}},
                "required": ["query"],
                "additionalProperties": False,
            },
        },
    },
    "read_document": {
        "type": "function",
        "function": {
            "name": "read_document",
            "description": "Read a corpus document by id, or the best match for a phrase.",
            "parameters": {
                "type": "object",
                "properties": {
                    "doc_id": {"type": "string", "description": "Document id or phrase."}
                },
                "required": ["doc_id"],
                "additionalProperties": False,
            },
        },
    },
    "calculator": {
        "type": "function",
        "function": {
            "name": "calculator",
            "description": "Evaluate an arithmetic expression with + - * / and parentheses.",
            "parameters": {
                "type": "object",
                "properties": {"expression": {"type": "string"}},
                "required": ["expression"],
                "additionalProperties": False,
            },
        },
    },
}


def tool_specs(names: list[str] | None) -> list[dict[str, Any]]:
    """The specs for `names` (all tools when None), in a stable order."""
    chosen = list(TOOL_SPECS) if names is None else names
    unknown = [n for n in chosen if n not in TOOL_SPECS]
    if unknown:
        raise ValueError(f"unknown tools: {unknown}")
    return [TOOL_SPECS[n] for n in chosen]
