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
    import faiss
    from llama_index.core.schema import TextNode
    from llama_index.vector_stores.faiss import FaissVectorStore

    store = FaissVectorStore(faiss_index=faiss.IndexFlatIP(vectors.shape[1]))
    nodes = [
        TextNode(id_=chunk.id, text=chunk.text, embedding=vector.tolist(),
                 metadata={"doc": chunk.doc, "section": chunk.section, "title": chunk.title,
                           "language": chunk.language})
        for chunk, vector in zip(chunks, vectors)
    ]
    ids = store.add(nodes)
    if ids != [str(i) for i in range(len(chunks))]:
        raise RuntimeError("FAISS ids do not follow chunk order")   # our chunk list is the id map
    store.persist(persist_path=str(path))


class DenseIndex:
    def __init__(self, path: Path):
        import faiss

        self.index = faiss.read_index(str(path))

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
        vectors = self.index.reconstruct_n(0, self.index.ntotal)
        return vectors @ np.asarray(query_vector, dtype="float32").reshape(-1)
