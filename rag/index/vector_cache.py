"""Passage vectors cached by chunk content: a rebuild embeds only the chunks whose text changed.

Embedding is most of a build (e5 on 2 cores: ~0.1-0.3 s a chunk), while an edit to the notes usually
touches one section. Each vector is keyed by sha256(embedder id, passage text), so a vector is reused
only for the very text and model it was made from; chunking settings, the notes' order and section
numbers need no key of their own (they change the text, or not the vector).

One file per embedder, ``<index_dir>/vector-cache/<embedder hash>.npz`` (keys as fixed-width bytes and
a float32 matrix, no pickles), replaced atomically after each build. It is only ever a cache: an
unreadable or inconsistent file is ignored (everything is embedded) and rewritten.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Callable, Optional

import numpy as np

SUBDIR = "vector-cache"
#: entries kept beyond the current build's, so switching between two versions of the notes stays cheap
KEEP_EXTRA = 2


def text_key(embedder_id: str, text: str) -> bytes:
    return hashlib.sha256(embedder_id.encode("utf-8") + b"\0" + text.encode("utf-8")).hexdigest().encode("ascii")


class VectorCache:
    def __init__(self, index_dir: Path, embedder_id: str):
        self.embedder_id = embedder_id
        name = hashlib.sha256(embedder_id.encode("utf-8")).hexdigest()[:16]
        self.path = Path(index_dir) / SUBDIR / f"{name}.npz"
        self._vectors: dict[bytes, np.ndarray] = self._read()

    def _read(self) -> dict[bytes, np.ndarray]:
        try:
            with np.load(self.path, allow_pickle=False) as data:
                keys, vectors = data["keys"], data["vectors"]
                if keys.ndim != 1 or vectors.ndim != 2 or len(keys) != len(vectors) or vectors.dtype != np.float32:
                    return {}
                return {bytes(k): vectors[i] for i, k in enumerate(keys)}
        except (OSError, ValueError, KeyError, EOFError):  # absent, truncated, or not ours: start empty
            return {}

    def __len__(self) -> int:
        return len(self._vectors)

    def embed(self, texts: list[str], embed_passages: Callable[[list[str]], np.ndarray],
              progress: Optional[Callable[[str], None]] = None) -> tuple[np.ndarray, int]:
        """Vectors for ``texts`` (cached ones reused, the rest embedded in one call) and how many were
        embedded. The cache file is rewritten with this build's vectors first."""
        keys = [text_key(self.embedder_id, t) for t in texts]
        dims = {v.shape[0] for v in self._vectors.values()}
        reusable = len(dims) == 1
        todo = [i for i, k in enumerate(keys) if not reusable or k not in self._vectors]
        todo_texts = list(dict.fromkeys(texts[i] for i in todo))
        if progress:
            progress(f"Embedding {len(todo_texts)} of {len(texts)} chunks "
                     f"({len(texts) - len(todo)} unchanged, from the vector cache)...")
        fresh: dict[bytes, np.ndarray] = {}
        if todo_texts:
            vectors = np.asarray(embed_passages(todo_texts), dtype=np.float32)
            fresh = {text_key(self.embedder_id, t): v for t, v in zip(todo_texts, vectors)}
            if reusable and vectors.shape[1] != next(iter(dims)):
                self._vectors = {}   # the model's dimension changed under the same id: drop the old ones
        if not texts:
            return np.asarray(embed_passages([]), dtype=np.float32), 0
        table = {**self._vectors, **fresh}
        out = np.stack([table[k] for k in keys]).astype(np.float32, copy=False)
        self._write(keys, table)
        return out, len(todo_texts)

    def _write(self, current: list[bytes], table: dict[bytes, np.ndarray]) -> None:
        keep = list(dict.fromkeys(current))
        extra = [k for k in self._vectors if k not in set(keep)][: KEEP_EXTRA * len(keep)]
        keys = keep + extra
        self._vectors = {k: table[k] for k in keys}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, keys=np.array(keys, dtype="S64"), vectors=np.stack([table[k] for k in keys]))
            os.replace(tmp, self.path)
        except OSError:
            # a cache that cannot be written costs the next build time, never this one its result
            Path(tmp).unlink(missing_ok=True)


def embed_with_cache(embedder, texts: list[str], index_dir: Path,
                     progress: Optional[Callable[[str], None]] = None, queries: bool = False) -> tuple[np.ndarray, int]:
    """``embedder.embed_passages(texts)`` (``embed_queries`` when ``queries``: e5 prefixes the two differently),
    reusing vectors of unchanged texts; (vectors, n embedded)."""
    # the dimension is part of the identity: a model swapped under the same id ("force-repair") must not get
    # the old model's vectors back from the cache
    identity = f"{embedder.model_id}|dim={getattr(embedder, 'dim', '')}" + ("|queries" if queries else "")
    embed = embedder.embed_queries if queries else embedder.embed_passages
    return VectorCache(index_dir, identity).embed(list(texts), embed, progress)
