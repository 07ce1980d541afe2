"""The dense leg: chunk embeddings in a FAISS inner-product index (vectors are L2-normalised: cosine).

The index is built and written through llama-index's ``FaissVectorStore`` (nodes with embeddings, its
persist format is FAISS's own file). Queries read that file with ``faiss`` directly: the vector store's
query is the same single FAISS call, and importing llama-index costs seconds of start-up we don't spend
on every new process.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..types import Chunk


def write_dense_index(path: Path, chunks: list[Chunk], vectors: np.ndarray) -> None:
    from llama_index.core.schema import TextNode

    _persist(path, vectors, [
        TextNode(id_=chunk.id, text=chunk.text, embedding=vector.tolist(),
                 metadata={"doc": chunk.doc, "section": chunk.section, "title": chunk.title,
                           "language": chunk.language})
        for chunk, vector in zip(chunks, vectors)
    ])


def write_line_index(path: Path, vectors: np.ndarray) -> None:
    """One vector per line of the notes, in the order of the build's ``lines.jsonl`` (its id map)."""
    from llama_index.core.schema import TextNode

    _persist(path, vectors, [TextNode(id_=f"line-{i}", text="", embedding=vector.tolist())
                             for i, vector in enumerate(vectors)])


def _persist(path: Path, vectors: np.ndarray, nodes) -> None:
    import faiss
    from llama_index.vector_stores.faiss import FaissVectorStore

    store = FaissVectorStore(faiss_index=faiss.IndexFlatIP(vectors.shape[1]))
    ids = store.add(nodes) if nodes else []
    if ids != [str(i) for i in range(len(nodes))]:
        raise RuntimeError("FAISS ids do not follow the list order")   # our chunk/line list is the id map
    store.persist(persist_path=str(path))


class DenseIndex:
    def __init__(self, path: Path):
        import faiss

        self.index = faiss.read_index(str(path))
        self._vectors: np.ndarray | None = None

    @property
    def dim(self) -> int:
        return self.index.d

    @property
    def size(self) -> int:
        return self.index.ntotal

    def search(self, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        k = min(k, self.index.ntotal)
        if k <= 0:
            return []
        scores, ids = self.index.search(np.asarray(query_vector, dtype="float32").reshape(1, -1), k)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def all_scores(self, query_vector: np.ndarray) -> np.ndarray:
        """Cosine of the query with every chunk: the spread tells whether the best one stands out."""
        # einsum, not @: numpy's BLAS runs a matrix-vector product on all cores, which took 8 ms instead
        # of 0.9 ms at 100x the notes on 2 busy cores (its threads wait for cores others hold)
        return np.einsum("ij,j->i", self.vectors, np.asarray(query_vector, dtype="float32").reshape(-1))

    @property
    def vectors(self) -> np.ndarray:
        # Read out of FAISS once: reconstructing every vector per question cost 4 ms at 100x the notes.
        if self._vectors is None or len(self._vectors) != self.index.ntotal:
            self._vectors = self.index.reconstruct_n(0, self.index.ntotal)
        return self._vectors

    @staticmethod
    def top(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` best of ``all_scores`` as (chunk, score), best first: what ``search`` returns (an
        exact flat search), without a second pass over the vectors."""
        k = min(k, scores.size)
        if k <= 0:
            return []
        best = np.argpartition(-scores, k - 1)[:k] if k < scores.size else np.arange(scores.size)
        best = best[np.lexsort((best, -scores[best]))]
        return [(int(i), float(scores[i])) for i in best]
