"""Is this Hangul word an English word written in Hangul? ("제너레이티브" = generative, "퍼포먼스" = performance)

Korean developers write English terms in Hangul as often as in Latin letters, and the notes write most terms
in Latin letters ("Catalog", "Enterprise"), so a Korean question about them is full of words the notes never
spell that way. Both spellings are reduced to a skeleton of consonant classes, the part of a word that survives
transliteration: vowels vary (퍼/per, 포/for), voicing varies (ㅈ for s, z, j, soft g), and an English r before a
consonant is not pronounced in the loanword (per-for-mance -> 퍼포먼스). Equal skeletons of at least three
consonant classes, for a Hangul word of at least three syllables, are taken as the same word; shorter ones match
too much. Written from Korean loanword spelling conventions; the limits were checked on the dev split's Korean
questions (gold_dev v1-v4), where "설치", "텐서" and "그레이스" matched notes words before them.
"""
from __future__ import annotations

import re
import unicodedata

MIN_CLASSES = 3
MIN_SYLLABLES = 3

# choseong (initial consonants) in Unicode order -> class; "" for the silent ㅇ
_INITIAL = ["K", "K", "N", "T", "T", "L", "M", "P", "P", "S", "S", "", "S", "S", "S", "K", "T", "P", "H"]
# jongseong (finals) in Unicode order, index 0 = none
# (a final ㅅ/ㅆ is how Hangul writes an English final t: net -> 넷)
_FINAL = ["", "K", "K", "K", "N", "N", "N", "T", "L", "L", "L", "L", "L", "L", "L", "L", "M", "P", "P", "T", "T",
          "NG", "S", "S", "K", "T", "P", "H"]
_HANGUL_BASE, _HANGUL_LAST = 0xAC00, 0xD7A3


def hangul_skeleton(word: str) -> tuple[str, ...]:
    # a word that starts with a vowel sound (silent ㅇ) keeps that: "across" is no "그레이스"
    classes: list[str] = ["V"] if word and _HANGUL_BASE <= ord(word[0]) <= _HANGUL_LAST \
        and (ord(word[0]) - _HANGUL_BASE) // 588 == 11 else []
    for char in word:
        code = ord(char)
        if not _HANGUL_BASE <= code <= _HANGUL_LAST:
            return ()
        index = code - _HANGUL_BASE
        initial, final = index // 588, index % 28
        if _INITIAL[initial]:
            classes.append(_INITIAL[initial])
        if _FINAL[final]:
            classes.append(_FINAL[final])
    return _collapse(classes)


# English letters and digraphs -> class, tried longest first
_DIGRAPHS = [("tion", "SN"), ("sion", "SN"), ("tch", "S"), ("sch", "SK"), ("ch", "S"), ("sh", "S"), ("th", "S"), ("ph", "P"), ("ck", "K"), ("ng", "NG"),
             ("gn", "N"), ("kn", "N"), ("wr", "L"), ("qu", "K"), ("x", "KS")]
_LETTERS = {"b": "P", "p": "P", "f": "P", "v": "P", "d": "T", "t": "T", "k": "K", "q": "K", "g": "K", "s": "S",
            "z": "S", "j": "S", "l": "L", "r": "L", "m": "M", "n": "N", "h": "H"}
_VOWELS = set("aeiouy")


def latin_skeleton(word: str) -> tuple[str, ...]:
    word = unicodedata.normalize("NFKD", word.lower())
    word = re.sub(r"[^a-z]", "", word)
    classes: list[str] = ["V"] if word[:1] in _VOWELS - {"y"} or word[:2] in ("wh", "wo", "wa", "we", "wi") else []
    i = 0
    while i < len(word):
        for digraph, cls in _DIGRAPHS:
            if word.startswith(digraph, i):
                classes.extend({"KS": ["K", "S"], "SN": ["S", "N"], "SK": ["S", "K"]}.get(cls, [cls]))
                i += len(digraph)
                break
        else:
            char = word[i]
            after = word[i + 1] if i + 1 < len(word) else ""
            if char == "c":   # soft before e/i/y
                classes.append("S" if after and after in "eiy" else "K")
            elif char == "g" and after and after in "ei":
                classes.append("S")   # generative -> 제너레이티브
            elif char == "t" and after == "u" and i > 0:
                classes.append("S")   # virtual -> 버추얼, actual -> 액추얼
            elif char == "r" and (after not in _VOWELS or re.fullmatch(r"e[sd]?", word[i + 1:])):
                pass                  # non-rhotic: per-for-mance -> 퍼포먼스, cores -> 코어스
            elif char == "h" and i > 0:
                pass                  # inside a word h is mostly silent or part of a digraph handled above
            elif char in _LETTERS:
                classes.append(_LETTERS[char])
            i += 1
    return _collapse(classes)


def _collapse(classes: list[str]) -> tuple[str, ...]:
    """Doubled consonants and a final n before ng are one sound: "training" and "트레이닝" both end in N NG."""
    out: list[str] = []
    for cls in classes:
        if out and (out[-1] == cls or (out[-1] == "N" and cls == "NG")):
            out[-1] = cls
            continue
        out.append(cls)
    return tuple(out)


def consonant_count(skeleton: tuple[str, ...]) -> int:
    return sum(1 for cls in skeleton if cls != "V")


class LoanwordMap:
    """Hangul loanwords -> the notes' own Latin words, to expand a keyword query ("제너레이티브" -> "generative",
    "유즈케이스" -> "use", "cases"). Built from the notes' Latin tokens in reading order, so that a two-word term
    written as one Hangul word ("유즈케이스") finds both."""

    def __init__(self, token_sequences):
        self._words: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
        self._latin: set[str] = set()
        # the other way: the notes' Hangul loanwords by sound, for a question in Latin letters ("helicase" ->
        # "헬리케이스" of Korean notes)
        self._hangul: dict[tuple[str, ...], set[str]] = {}
        for tokens in token_sequences:
            for token in tokens:
                if len(token) >= MIN_SYLLABLES and _HANGUL_WORD.fullmatch(token):
                    skeleton = hangul_skeleton(token)
                    if consonant_count(skeleton) >= MIN_CLASSES:
                        self._hangul.setdefault(skeleton, set()).add(token)
            latin = [t if _LATIN_TOKEN.fullmatch(t) else None for t in tokens]
            for i, word in enumerate(latin):
                if word is None:
                    continue
                self._latin.add(word)
                self._add((word,))
                if i + 1 < len(latin) and latin[i + 1] is not None:
                    self._add((word, latin[i + 1]))

    def _add(self, words: tuple[str, ...]) -> None:
        skeleton = latin_skeleton("".join(words))
        if consonant_count(skeleton) >= MIN_CLASSES:
            self._words.setdefault(skeleton, set()).add(words)

    def latin_words(self, hangul_word: str) -> tuple[str, ...]:
        """The notes' Latin words this Hangul word spells, or () ("제너레이티브" -> ("generative",))."""
        acronyms = sorted(a for a in spelled_acronyms(hangul_word) if a in self._latin)
        if acronyms:
            return tuple(acronyms)
        # native and Sino-Korean nouns are mostly two syllables ("설치", "텐서" would match "cells", "dense"):
        # a loanword has three or more
        if len(hangul_word) < MIN_SYLLABLES:
            return ()
        found = self._words.get(hangul_skeleton(hangul_word), ())
        # a single notes word beats a pair with the same sounds ("엔터프라이즈" is "enterprise", not "ai enterprise")
        singles = [words for words in found if len(words) == 1]
        return tuple(sorted({w for words in (singles or found) for w in words}))

    def expand(self, question: str, tokens: tuple[str, ...]) -> tuple[str, ...]:
        """Add the Latin words of every Hangul loanword in the question. Hangul runs of the question are tried
        whole and without one or two trailing syllables (a particle: "런타임이"), since the tokenizer may split
        an unknown loanword ("런", "타임")."""
        present = set(tokens)
        extra: list[str] = []
        for run in _HANGUL_RUN.findall(question):
            for stem in _stems(run):
                words = self.latin_words(stem)
                if words:
                    extra.extend(w for w in words if w not in present and w not in extra)
                    break
        return tokens + tuple(extra)

    def hangul_words(self, latin_word: str) -> tuple[str, ...]:
        """The notes' Hangul words that spell this Latin word, or () ("helicase" -> ("헬리케이스",))."""
        return tuple(sorted(self._hangul.get(latin_skeleton(latin_word), ())))

    def expand_latin(self, tokens: tuple[str, ...]) -> tuple[str, ...]:
        """Add the notes' Hangul spelling of every Latin token of a question (for notes not written in English)."""
        present = set(tokens)
        extra = [h for t in tokens if _LATIN_TOKEN.fullmatch(t) and len(t) >= 4 for h in self.hangul_words(t)]
        return tokens + tuple(dict.fromkeys(h for h in extra if h not in present))

    def with_latin_acronyms(self, question: str) -> str:
        """The question with every Hangul-spelled acronym of the notes in Latin letters ("씨피유랑 지피유 중" ->
        "CPU랑 GPU 중"), particles kept: what the embedder reads. The notes write CPU, GPU, LLM in Latin letters,
        and a multilingual encoder has rarely seen "지피유": such a question scored far below its paraphrase."""
        def latin(match: re.Match) -> str:
            run = match.group(0)
            for stem in _stems(run):
                found = sorted(a for a in spelled_acronyms(stem) if a in self._latin)
                if len(found) == 1:
                    return found[0].upper() + run[len(stem):]
            return run
        return _HANGUL_RUN.sub(latin, question)


_LATIN_TOKEN = re.compile(r"[a-z][a-z\-]*")
_HANGUL_RUN = re.compile(r"[가-힣]{2,}")
_HANGUL_WORD = re.compile(r"[가-힣]+")


def _stems(run: str):
    """A Hangul run whole, then without one or two trailing syllables (a particle: "런타임이", "씨피유랑")."""
    return (run[:len(run) - cut] for cut in range(0, 3) if len(run) > cut)


# Latin letters as Korean says them: "씨피유" = CPU, "엘엘엠" = LLM, "브이지피유" = vGPU.
_LETTER_NAMES = {"에이": "a", "비": "b", "씨": "c", "시": "c", "디": "d", "이": "e", "에프": "f", "지": "g", "쥐": "g",
                 "에이치": "h", "아이": "i", "제이": "j", "케이": "k", "엘": "l", "엠": "m", "엔": "n", "오": "o",
                 "피": "p", "큐": "q", "알": "r", "아르": "r", "에스": "s", "티": "t", "유": "u", "브이": "v",
                 "더블유": "w", "엑스": "x", "와이": "y", "제트": "z"}


def spelled_acronyms(hangul_word: str) -> set[str]:
    """Every way to read a Hangul word as Latin letter names, lower-cased ("씨피유" -> {"cpu"}); two letters
    at least, since one letter name is an ordinary syllable ("이", "비")."""
    readings: list[set[str]] = [set() for _ in range(len(hangul_word) + 1)]
    readings[0].add("")
    for end in range(1, len(hangul_word) + 1):
        for start in range(max(0, end - 3), end):
            letters = _LETTER_NAMES.get(hangul_word[start:end])
            if letters:
                readings[end].update(prefix + letters for prefix in readings[start])
    return {r for r in readings[-1] if len(r) >= 2}
