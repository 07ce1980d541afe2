"""The notes' vocabulary: every word they use in each language they are written in, every number they state, and
the tests that say whether a word of a question is one of theirs (a particle left on it, a one-syllable typo, a Hangul
spelling of one of their Latin words, an everyday or dictionary English word).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from .text.loanwords import MIN_CLASSES, LoanwordMap, consonant_count, hangul_skeleton, latin_skeleton, spelled_acronyms
from .text.question_words import HANGUL, LATIN_WORD, NUMBER
from .text.tokenize import stem_en, tokenize

@dataclass
class NotesVocabulary:
    """Every word the notes use, in both languages, and every number they state."""

    latin: set[str] = field(default_factory=set)     # lower-cased, light-stemmed Latin words
    korean: set[str] = field(default_factory=set)    # Kiwi content tokens
    numbers: set[str] = field(default_factory=set)
    text: str = ""                                   # all of it, lower-cased, for quoted phrases
    section_count: dict = field(default_factory=dict)   # token -> how many section texts use it
    # the languages the notes are written in ("ko", "en"); a word of another language can't be looked up in them
    languages: set[str] = field(default_factory=lambda: {"ko", "en"})
    # the commands the notes write in code (`git commit -m`): first word -> the words they put after it
    commands: dict = field(default_factory=dict)
    sections: int = 0                                # how many section texts section_count counted
    _hangul_sounds: set | None = field(default=None, repr=False, compare=False)   # derived, built on first use
    _loanwords: LoanwordMap | None = field(default=None, repr=False, compare=False)   # derived, built on first use

    @classmethod
    def build(cls, texts, glossary_entries=(), languages=("ko", "en")) -> "NotesVocabulary":
        vocab = cls(languages=set(languages))
        texts = list(texts)
        vocab.text = "\n".join(texts).lower()
        vocab.sections = len(texts)
        for text in texts:
            for token in set(tokenize(text)):
                vocab.section_count[token] = vocab.section_count.get(token, 0) + 1
        vocab.commands = command_words(texts)
        for text in texts + [f"{e.ko} {e.en}" for e in glossary_entries]:
            vocab.latin.update(latin_key(w) for w in LATIN_WORD.findall(text))
            vocab.numbers.update(number_key(n) for n in NUMBER.findall(text))
            if HANGUL.search(text):
                vocab.korean.update(t for t in tokenize(text) if HANGUL.search(t))
        return vocab

    FORMAT = 5    # 5: formulas in code spans are no command families

    def save(self, path) -> None:
        """Best effort, atomic: a cache that cannot be written costs the next process seconds, never an answer."""
        import json
        import os
        import tempfile
        from pathlib import Path

        data = {"format": self.FORMAT, "latin": sorted(self.latin), "korean": sorted(self.korean),
                "numbers": sorted(self.numbers), "text": self.text, "section_count": self.section_count,
                "languages": sorted(self.languages),
                "commands": {head: sorted(words) for head, words in self.commands.items()},
                "sections": self.sections}
        try:
            fd, tmp = tempfile.mkstemp(dir=Path(path).parent, prefix=".vocabulary-")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, ensure_ascii=False)
            os.replace(tmp, path)
        except OSError:
            pass

    @classmethod
    def load(cls, path) -> "NotesVocabulary | None":
        """The cached vocabulary of an index build, or None when absent, damaged or of another format."""
        import json

        try:
            with open(path, encoding="utf-8") as source:
                data = json.load(source)
            if data.get("format") != cls.FORMAT:
                return None
            return cls(set(data["latin"]), set(data["korean"]), set(data["numbers"]), data["text"],
                       dict(data["section_count"]), set(data["languages"]),
                       {head: set(words) for head, words in data["commands"].items()}, int(data["sections"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def loanwords(self) -> LoanwordMap:
        """The notes' Latin words and word pairs ("use cases") by sound, for Hangul loanwords (the same map the
        keyword query is expanded with)."""
        if self._loanwords is None:
            self._loanwords = LoanwordMap([re.findall(r"[a-z]+", self.text)])
        return self._loanwords

    def writes(self, language: str) -> bool:
        """The notes are written in ``language``: its words can be looked up in them."""
        return language in self.languages

    def spells_in_hangul(self, word: str) -> bool:
        """Korean notes write this Latin name in Hangul letters ("Meselson" / "메셀슨", "Watson" / "왓슨"): the same
        consonant skeleton (rag/text/loanwords.py), at least three consonant classes long."""
        if self._hangul_sounds is None:
            self._hangul_sounds = {sk for sk in map(hangul_skeleton, self.korean) if consonant_count(sk) >= MIN_CLASSES}
        skeleton = latin_skeleton(word)
        return consonant_count(skeleton) >= MIN_CLASSES and skeleton in self._hangul_sounds

    def knows_latin(self, word: str) -> bool:
        key = latin_key(word)
        if key in self.latin:
            return True
        # "NVLink4" / "H100-SXM": judge the pieces; "GPUs" -> "gpu" is handled by the stemmer
        pieces = [p for p in re.split(r"[\-+.]|(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])", key) if p]
        return len(pieces) > 1 and all(p in self.latin or p.isdigit() and p in self.numbers for p in pieces)


# A command family: a first word the notes' code spans start with this often ("git", "pip", "kubectl").
COMMAND_FAMILY_SPANS = 3
_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def command_words(texts) -> dict:
    """The notes' command families: each first word of at least COMMAND_FAMILY_SPANS code spans, with every word
    that follows it in one of them (`git commit -m "msg"` -> git: {commit}). Notes with no code have none."""
    spans = [m.group(1).split() for text in texts for m in _CODE_SPAN.finditer(text)]
    heads: dict[str, int] = {}
    for words in spans:
        # a command reads "head word ..." (`git commit`, `ping -c 4`); a formula reads "a = F / m" or "F ∝ 1/r²":
        # its letter is a symbol, and "a car" in a question no unknown subcommand of it
        if (len(words) >= 2 and re.fullmatch(r"[a-z][\w.-]+", words[0])
                and re.fullmatch(r"-{0,2}[A-Za-z][\w.-]*", words[1])):
            heads[words[0]] = heads.get(words[0], 0) + 1
    families = {head: set() for head, count in heads.items() if count >= COMMAND_FAMILY_SPANS}
    for words in spans:
        if words and words[0] in families and len(words) >= 2:
            families[words[0]].add(words[1].lower())
    return families


def latin_key(word: str) -> str:
    return stem_en(word.lower().strip(".-+"))


def number_key(number: str) -> str:
    return number.replace(",", "")


def knows_korean(word: str, vocab: NotesVocabulary) -> bool:
    """The notes use this Korean word, maybe with a particle Kiwi left on it ("프로비저닝은") or one
    syllable misspelt ("데이타")."""
    from .text.tokenize import strip_particle

    if word in vocab.korean or strip_particle(word) in vocab.korean or korean_typo_of_known(word, vocab):
        return True
    # "씨피유", "엘엘엠가": a notes acronym spelled out in Hangul letter names
    if any(latin_key(a) in vocab.latin for w in (word, strip_particle(word)) for a in spelled_acronyms(w)):
        return True
    # "제너레이티브", "퍼포먼스", "카탈로그": a notes term written in Hangul letters
    return any(vocab.loanwords().latin_words(w) for w in (word, strip_particle(word)))


def in_known_word(noun: str, question: str, vocab: NotesVocabulary) -> bool:
    """The noun is a piece Kiwi cut from a longer word the notes know ("플로" of "워크플로를" = 워크플로우)."""
    for run in re.findall(r"[\uac00-\ud7a3]+", question):
        if noun in run and run != noun and knows_korean(run, vocab):
            return True
    return False


def korean_typo_of_known(word: str, vocab: NotesVocabulary) -> bool:
    """"데이타" for "데이터", "아키텍쳐" for "아키텍처": one syllable off a notes word of the same length;
    "워크플로" for "워크플로우": one syllable more or less than a notes word of three or more."""
    if len(word) < 3:
        return False
    for known in vocab.korean:
        if one_syllable_off(word, known):
            return True
        if abs(len(known) - len(word)) == 1 and min(len(known), len(word)) >= 3:
            longer, shorter = (known, word) if len(known) > len(word) else (word, known)
            if any(longer[:i] + longer[i + 1:] == shorter for i in range(len(longer))):
                return True
    return False


def one_syllable_off(word: str, known: str) -> bool:
    """Same length, one syllable different: "데이타" / "데이터", "트렌스포머" / "트랜스포머"."""
    return len(known) == len(word) and sum(a != b for a, b in zip(known, word)) == 1


@lru_cache(maxsize=2)
def _frequencies(language: str) -> dict:
    try:
        from wordfreq import get_frequency_dict
        return get_frequency_dict(language)
    except Exception:   # without wordfreq: no word is "everyday" or "rare"; the dictionary and notes still decide
        return {}


def zipf(word: str, language: str) -> float | None:
    """wordfreq's Zipf value (log10 of uses per billion words), 0 for an unlisted word, None without wordfreq."""
    import math

    frequencies = _frequencies(language)
    if not frequencies:
        return None
    value = frequencies.get(word.lower(), 0.0)
    return math.log10(value) + 9 if value > 0 else 0.0


_SUFFIXES = ("ization", "isation", "ations", "ation", "izing", "ized", "izes", "ize", "ings", "ing", "ers", "er",
             "ies", "es", "ed", "ly", "s")


@lru_cache(maxsize=1)
def english_words() -> frozenset:
    try:
        from english_words import get_english_words_set
    except ImportError:   # without the word list only name-shaped words are checked
        return frozenset()
    return frozenset(get_english_words_set(["gcide", "web2"], lower=True, alpha=True))


# Zipf 3 = once per million words: "apps", "smartphone"; product names ("kubectl", "nvlink") are far rarer.
# Set by hand, not fitted.
EVERYDAY_ZIPF = 3.0


def not_english(word: str, vocab: NotesVocabulary) -> bool:
    """A lower-case Latin word that is neither English nor in the notes, in any inflection or compound."""
    words = english_words()
    if len(word) < 4 or not word.isalpha() or not words:
        return False
    # an everyday word of today's English ("apps", "online") that the old dictionaries lack is English too
    known = lambda w: w in words or latin_key(w) in vocab.latin or (zipf(w, "en") or 0.0) >= EVERYDAY_ZIPF  # noqa: E731

    def known_form(w: str) -> bool:
        # British spellings ("characterised", "colour") are in an American word list as -ize / -or
        for variant in dict.fromkeys((w, w.replace("is", "iz"), w.replace("our", "or"))):
            if known(variant):
                return True
            for suffix in _SUFFIXES:
                if variant.endswith(suffix) and len(variant) - len(suffix) >= 3:
                    stem = variant[: -len(suffix)]
                    if known(stem) or known(stem + "e") or known(stem + "y"):
                        return True
        return False

    if known_form(word):
        return False
    # "datacenter", "carmakers": two known words written together
    if any(known(word[:i]) and known_form(word[i:]) for i in range(3, len(word) - 2)):
        return False
    # "comparision", "virtualisation" misspelt: one letter off a dictionary word of six or more letters is a typo,
    # not a product name (kubectl, nvlink and infiniband are more than one letter from any word)
    return not (len(word) >= 6 and any(w in words for w in _one_edit(word)))


def _one_edit(word: str):
    """Every string one deletion, transposition, substitution or insertion away from ``word`` (a-z)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    for left, right in splits:
        if right:
            yield left + right[1:]
            yield from (left + c + right[1:] for c in letters if c != right[0])
        if len(right) > 1:
            yield left + right[1] + right[0] + right[2:]
        yield from (left + c + right for c in letters)
