"""Keyword tokens for BM25: Kiwi morphemes for Korean, lower-cased word tokens for Latin script.

Korean attaches particles and endings to words ("GPU의", "차이점은"); a tokenizer that does not split them
finds almost nothing, so Korean goes through Kiwi and only content morphemes are kept. Kiwi sometimes keeps
a particle on an unknown loanword ("오케스트레이션과"): a second token without the particle is added.
"""
from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

_KEEP_TAGS = ("NNG", "NNP", "NR", "NP", "SL", "SN", "SH", "XR", "VV", "VA", "MAG", "W_")
_LATIN_WORD = re.compile(r"[a-z0-9]+(?:[.\-][a-z0-9]+)*")
_HANGUL_RUN = re.compile(r"[\uac00-\ud7a3]+")
_PARTICLES = ("으로", "에서", "이란", "과", "와", "은", "는", "이", "가", "을", "를", "의", "에", "로", "란", "도")
_EN_STOP = frozenset(
    "a an the of to in on for and or is are was were be been what which who how why when where does do did "
    "can could should would will its it this that these those with by from as at about me tell explain "
    "please give list name describe main key".split()
)
_KO_STOP = frozenset("무엇 뭐 어떻 어떤 것 수 있 하 되 이 그 저 설명 알려주 말 주".split())

_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_kiwi = None
_kiwi_ready = False          # the analyser is built (Kiwi builds it on the first analysis)
# Every use of the one Kiwi instance holds this lock: its user dictionary must not change (register_words)
# while an analysis runs, and an analysis after add_user_word rebuilds the analyser.
_kiwi_lock = threading.RLock()
_generation = 0              # bumped when the dictionary changes: cached tokens of older generations are stale
_pending: list[str] = []     # vetted loanwords of the loaded index, added when Kiwi is first needed


class _LockedKiwi:
    """The shared Kiwi, with every call made under ``_kiwi_lock`` (other modules analyse with it too)."""

    def __init__(self, kiwi):
        self._kiwi = kiwi

    def __getattr__(self, name):
        attr = getattr(self._kiwi, name)
        if not callable(attr):
            return attr

        def locked(*args, **kwargs):
            with _kiwi_lock:
                result = attr(*args, **kwargs)
                # tokenize() can return a lazy iterator: it must run under the lock as well
                return list(result) if hasattr(result, "__next__") else result

        return locked


def _raw_kiwi(warm: bool = True, with_pending: bool = True):
    global _kiwi, _kiwi_ready, _pending, _generation
    with _kiwi_lock:
        if _kiwi is None:
            from kiwipiepy import Kiwi

            _kiwi = Kiwi()
        if with_pending and _pending:
            # before the analyser's first build if Kiwi is new: the words cost no second build
            if any([_kiwi.add_user_word(word, "NNP", 0.0) for word in _pending]):
                _kiwi_ready = False
                _generation += 1
                _tokenize.cache_clear()
            _pending = []
        if warm and not _kiwi_ready:
            _kiwi.tokenize("준비")   # the first call builds the analyser; pay it here, once
            _kiwi_ready = True
        return _kiwi


def get_kiwi(warm: bool = True) -> _LockedKiwi:
    return _LockedKiwi(_raw_kiwi(warm))


def warm_up() -> None:
    """Load Kiwi now (e.g. in a background thread at start-up) instead of on the first question."""
    get_kiwi()


def expect_words(words) -> None:
    """The loaded index's loanwords (vetted when it was built), added when Kiwi is first needed. Kiwi
    costs ~2.5 s of a new process on 2 cores and kiwipiepy holds the GIL while it loads, so loading it
    in a thread beside the index saved nothing (benchmarks/reports/startup.md); a question without
    Korean in it never needs Kiwi."""
    global _pending
    with _kiwi_lock:
        _pending = list(dict.fromkeys(words))


def normalise(text: str) -> str:
    """NFKC (full-width letters, compatibility jamo) and no control characters or lone surrogates."""
    text = text.encode("utf-8", "replace").decode("utf-8") if _has_surrogates(text) else text
    text = unicodedata.normalize("NFKC", text)
    text = _ANSI_ESCAPE.sub(" ", text)   # terminal colour codes pasted with a question ("\x1b[31m")
    return "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text)


def _has_surrogates(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def stem_en(word: str) -> str:
    # A light plural/possessive stemmer: "stages" ~ "stage", "GPUs" ~ "gpu"; no dictionary needed.
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 3 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "is")):
        # "status" keeps its s, "GPUs"/"CPUs" (short acronym plurals) lose it
        if not word.endswith("us") or len(word) <= 4:
            return word[:-1]
    return word


_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten".split())}


def _latin_tokens(text: str) -> list[str]:
    words = (_NUMBER_WORDS.get(w, w) for w in _LATIN_WORD.findall(text.lower()))
    return [stem_en(w) for w in words if w not in _EN_STOP]


def tokenize(text: str) -> tuple[str, ...]:
    if _pending and _HANGUL_RUN.search(text):
        _raw_kiwi(warm=False)   # the index's loanwords first: they bump the generation the cache is keyed by
    return _tokenize(text, _generation)


@lru_cache(maxsize=4096)
def _tokenize(text: str, generation: int) -> tuple[str, ...]:
    # ``generation`` keys the cache: an analysis that finishes after register_words changed the
    # dictionary is stored under the old generation and never served again
    text = normalise(text)
    if not _HANGUL_RUN.search(text):
        return tuple(_latin_tokens(text))
    with _kiwi_lock:
        analysed = _raw_kiwi().tokenize(text)
    tokens: list[str] = []
    for token in analysed:
        if not token.tag.startswith(_KEEP_TAGS):
            continue
        if token.tag == "SL" or token.tag.startswith("W_") or token.tag == "SN":
            tokens.extend(_latin_tokens(token.form))
            continue
        form = token.form
        if form in _KO_STOP:
            continue
        tokens.append(form)
        stripped = strip_particle(form)
        if stripped != form:
            tokens.append(stripped)
    return tuple(tokens)


tokenize.cache_clear = _tokenize.cache_clear   # type: ignore[attr-defined]


def strip_particle(form: str) -> str:
    for particle in _PARTICLES:
        if form.endswith(particle) and len(form) - len(particle) >= 2:
            return form[: -len(particle)]
    return form


def register_words(words, checked: bool = False) -> list[str]:
    """Teach Kiwi whole loanwords it would otherwise split differently by context ("오케스트레이션" alone
    -> 오케스트/레이/션, but "오케스트레이션과" -> one token). Only words Kiwi cuts into noun pieces with no
    particle are added; returns those added. The index stores the list so queries see the same tokenizer.

    ``checked=True``: the words were vetted when the index was built (its stored list); add them without
    analysing each one again."""
    global _kiwi_ready, _generation
    words = list(dict.fromkeys(words))
    with _kiwi_lock:
        # vetted words are added before the analyser is first built, so it is built once, not twice
        kiwi = _raw_kiwi(warm=not checked, with_pending=checked)   # vetting needs Kiwi without them
        # Kiwi rebuilds its analyser on the first analysis after add_user_word (seconds on 2 cores), so
        # analyse every candidate first and add them all afterwards: one rebuild instead of one per word.
        added = words if checked else [w for w in words if _splits_into_nouns(kiwi, w)]
        for word in added:
            kiwi.add_user_word(word, "NNP", 0.0)
        if added or not _kiwi_ready:
            kiwi.tokenize("준비")   # pay the (re)build here, not on the next question
            _kiwi_ready = True
        if added:
            _generation += 1
            _tokenize.cache_clear()
    return added


def _splits_into_nouns(kiwi, word: str) -> bool:
    pieces = kiwi.tokenize(word)
    return len(pieces) > 1 and all(p.tag.startswith(("NN", "XR")) for p in pieces)
