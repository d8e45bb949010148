"""Deterministic local tools over the bundled corpus (``reference_agents/corpus``).

No network: "web search" ranks the corpus documents with BM25, "PDF extraction" parses the one
real PDF in the corpus with a minimal parser for uncompressed text streams (the plain-text
documents are returned as they are, marked ``extractor="text"``), and "vector retrieval" ranks
sentence passages by cosine similarity of hashed bag-of-words vectors. Same input, same output,
on every machine, which is what recorded histories need.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
_TOKEN = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an and are as at be by can for from how in is it its of on or that the their this to "
    "what when which why with does do must not than then they".split()
)


class ToolInputError(ValueError):
    """The caller's input is invalid: retrying cannot help (a client error)."""


class UnknownDocumentError(ToolInputError):
    """A document id is not in the corpus."""


@dataclass(frozen=True)
class CorpusDocument:
    doc_id: str
    title: str
    url: str
    text: str
    path: Path
    kind: str  # "text" | "pdf"


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens without stop words."""
    return [t for t in _TOKEN.findall(text.lower()) if t not in _STOP]


# --------------------------------------------------------------------------- PDF


def _unescape_pdf_string(raw: bytes) -> str:
    out = bytearray()
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == 0x5C and i + 1 < len(raw):  # backslash escape
            nxt = raw[i + 1]
            mapping = {
                ord("n"): b"\n",
                ord("r"): b"\r",
                ord("t"): b"\t",
                ord("("): b"(",
                ord(")"): b")",
                0x5C: b"\\",
            }
            if nxt in mapping:
                out += mapping[nxt]
                i += 2
                continue
            octal = re.match(rb"[0-7]{1,3}", raw[i + 1 : i + 4])
            if octal:
                out.append(int(octal.group(0), 8) & 0xFF)
                i += 1 + len(octal.group(0))
                continue
            i += 1
            continue
        out.append(c)
        i += 1
    return out.decode("latin-1")


def extract_pdf_text(data: bytes) -> tuple[str, int, str]:
    """Extract (text, page count, title) from a simple PDF.

    Supports what the bundled PDF uses: uncompressed content streams with ``Tj``/``TJ`` text
    operators and ``T*``/``Td`` line moves, and an ``/Info`` title. Compressed (FlateDecode)
    streams are rejected with ``ToolInputError`` rather than misread.
    """
    if not data.startswith(b"%PDF-"):
        raise ToolInputError("not a PDF file")
    if b"/FlateDecode" in data:
        raise ToolInputError("compressed PDF streams are not supported by this extractor")
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", data))
    lines: list[str] = []
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", data, flags=re.DOTALL):
        for block in re.findall(rb"BT(.*?)ET", stream, flags=re.DOTALL):
            current: list[str] = []
            for match in re.finditer(
                rb"\(((?:\\.|[^\\)])*)\)\s*Tj|\[(.*?)\]\s*TJ|(T\*|Td|TD|')", block, flags=re.DOTALL
            ):
                if match.group(1) is not None:
                    current.append(_unescape_pdf_string(match.group(1)))
                elif match.group(2) is not None:
                    parts = re.findall(rb"\(((?:\\.|[^\\)])*)\)", match.group(2))
                    current.append("".join(_unescape_pdf_string(p) for p in parts))
                elif current:
                    lines.append("".join(current))
                    current = []
            if current:
                lines.append("".join(current))
    title_match = re.search(rb"/Title\s*\(((?:\\.|[^\\)])*)\)", data)
    title = _unescape_pdf_string(title_match.group(1)) if title_match else ""
    return "\n".join(lines), pages, title


# --------------------------------------------------------------------------- corpus


@lru_cache(maxsize=1)
def load_corpus() -> tuple[CorpusDocument, ...]:
    """All corpus documents, sorted by id."""
    docs: list[CorpusDocument] = []
    for path in sorted(CORPUS_DIR.iterdir()):
        if path.suffix == ".txt":
            head, _, body = path.read_text(encoding="utf-8").partition("\n\n")
            meta = dict(line.split(": ", 1) for line in head.splitlines() if ": " in line)
            docs.append(
                CorpusDocument(
                    path.stem,
                    meta.get("title", path.stem),
                    meta.get("url", ""),
                    body.strip(),
                    path,
                    "text",
                )
            )
        elif path.suffix == ".pdf":
            text, _, title = extract_pdf_text(path.read_bytes())
            docs.append(
                CorpusDocument(
                    path.stem, title or path.stem, f"file://corpus/{path.name}", text, path, "pdf"
                )
            )
    return tuple(docs)


def get_document(doc_id: str) -> CorpusDocument:
    for doc in load_corpus():
        if doc.doc_id == doc_id:
            return doc
    raise UnknownDocumentError(f"unknown document id {doc_id!r}")


def search(query: str, limit: int = 3) -> list[tuple[CorpusDocument, float, str]]:
    """BM25 ranking of corpus documents: (document, score, best sentence as snippet)."""
    terms = tokens(query)
    if not terms:
        raise ToolInputError(f"query {query!r} has no searchable words")
    if not 1 <= limit <= 20:
        raise ToolInputError(f"limit must be between 1 and 20, got {limit}")
    docs = load_corpus()
    doc_tokens = [tokens(d.title + " " + d.text) for d in docs]
    avg_len = sum(len(t) for t in doc_tokens) / len(docs)
    scored: list[tuple[CorpusDocument, float, str]] = []
    for doc, toks in zip(docs, doc_tokens, strict=True):
        score = 0.0
        for term in set(terms):
            df = sum(1 for t in doc_tokens if term in t)
            tf = toks.count(term)
            if tf == 0:
                continue
            idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
            score += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * len(toks) / avg_len))
        if score > 0:
            scored.append((doc, round(score, 4), _best_sentence(doc.text, terms)))
    scored.sort(key=lambda item: (-item[1], item[0].doc_id))
    return scored[:limit]


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n", text) if s.strip()]


def _best_sentence(text: str, terms: list[str]) -> str:
    best = max(_sentences(text), key=lambda s: (sum(1 for t in tokens(s) if t in terms), -len(s)))
    return best


def embed(text: str, dim: int = 64) -> list[float]:
    """Hashed bag-of-words embedding (deterministic across processes, unlike ``hash()``)."""
    vec = [0.0] * dim
    for tok in tokens(text):
        h = int.from_bytes(hashlib.blake2b(tok.encode(), digest_size=4).digest(), "big")
        vec[h % dim] += 1.0 if (h >> 16) & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [v / norm for v in vec]


def retrieve(
    query: str, doc_ids: list[str], top_k: int = 2
) -> list[tuple[CorpusDocument, str, float]]:
    """Top passages (sentences) of the given documents by cosine similarity to the query."""
    if not tokens(query):
        raise ToolInputError(f"query {query!r} has no searchable words")
    qv = embed(query)
    candidates: list[tuple[CorpusDocument, str, float]] = []
    for doc_id in doc_ids:
        doc = get_document(doc_id)
        for sentence in _sentences(doc.text):
            score = sum(a * b for a, b in zip(qv, embed(sentence), strict=True))
            candidates.append((doc, sentence, round(score, 4)))
    candidates.sort(key=lambda c: (-c[2], c[0].doc_id, c[1]))
    return candidates[:top_k]


def metric_value(target: str, check_number: int) -> float:
    """A deterministic pseudo-measurement for the monitoring agent (0..100)."""
    digest = hashlib.sha256(f"{target}#{check_number}".encode()).digest()
    base = 40 + (digest[0] % 40)
    spike = 35 if digest[1] % 5 == 0 else 0  # roughly one check in five spikes
    return float(min(100, base + spike))


def calculator(expression: str) -> str:
    """Evaluate + - * / ( ) over numbers without ``eval``."""
    tokens_ = re.findall(r"\d+(?:\.\d+)?|[-+*/()]", expression)
    if not tokens_ or "".join(tokens_) != re.sub(r"\s+", "", expression):
        raise ToolInputError(f"unsupported expression {expression!r}")
    pos = 0

    def parse_expr() -> float:
        nonlocal pos
        value = parse_term()
        while pos < len(tokens_) and tokens_[pos] in "+-":
            op = tokens_[pos]
            pos += 1
            rhs = parse_term()
            value = value + rhs if op == "+" else value - rhs
        return value

    def parse_term() -> float:
        nonlocal pos
        value = parse_atom()
        while pos < len(tokens_) and tokens_[pos] in "*/":
            op = tokens_[pos]
            pos += 1
            rhs = parse_atom()
            if op == "/" and rhs == 0:
                raise ToolInputError("division by zero")
            value = value * rhs if op == "*" else value / rhs
        return value

    def parse_atom() -> float:
        nonlocal pos
        if pos >= len(tokens_):
            raise ToolInputError("unexpected end of expression")
        tok = tokens_[pos]
        pos += 1
        if tok == "(":
            value = parse_expr()
            if pos >= len(tokens_) or tokens_[pos] != ")":
                raise ToolInputError("missing )")
            pos += 1
            return value
        if tok == "-":
            return -parse_atom()
        return float(tok)

    result = parse_expr()
    if pos != len(tokens_):
        raise ToolInputError(f"unexpected {tokens_[pos]!r}")
    return f"{result:g}"
