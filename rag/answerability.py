"""Do the notes answer this question? answer / partial / refuse, with the reason and what is missing.

Retrieval always finds *something*, and e5 cosines are squeezed into 0.7-0.9, so the top cosine alone
both refuses natural paraphrases and answers near-miss questions ("What is the PUE target ...?" lands on
6.3). Three signals that generalise better than a fitted cosine:

1. Salient question terms the notes never use: Latin names (BlueField, H100, PUE, Slurm), numbers with
   units, Korean proper nouns. A notes vocabulary (both languages + the mined glossary) knows them all.
2. The asked-for slot: a question asking for a number, a year, a price, a version or a URL is answered
   only when the selected evidence lines hold one.
3. Retrieval evidence (top cosine, coverage, spread), as before, with a threshold fitted on the dev split.

A question with several parts ("What is vGPU and how much is its licence?") is judged part by part: some
parts covered -> partial (answer those, say which are not), none -> refuse.
The LLM's own NOT_IN_NOTES does not vote: measured as a vote it refused covered questions and no near miss, so
``rag.answer`` shows the notes' lines instead (an opt-in YES/NO check, ``Settings.judge``, is measured apart).

The vocabulary lives in rag/vocabulary.py, the slots in rag/slots.py; this module is the decision.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .slots import URL_LINE, asked_slots, counted_noun, slot_filled, slot_name  # noqa: F401 (counted_noun: re-exported)
from .text.question_words import CONTRACTED, HANGUL, KO_FRAME_NOUNS, LATIN_WORD, NUMBER, QUESTION_WORDS
from .text.tokenize import tokenize
from .vocabulary import (NotesVocabulary, english_words, in_known_word, knows_korean, not_english, number_key,
                         one_syllable_off, zipf)

ANSWER, PARTIAL, REFUSE = "answer", "partial", "refuse"

# Comparing something the notes know with something they don't cannot be answered in part.
_COMPARISON = re.compile(r"\bvs\.?\b|\bversus\b|\bcompar|\bdifference|\bbetter than\b|\bfaster than\b|"
                         r"\bor\b.*\?|차이|비교|대비|보다|나은|낫|어느 (?:것|쪽)|(?:뭐|무엇|어느 ?(?:게|것))[이가]? 더\b|"
                         r"(?:뭐가|어떻게|무엇이) ?(?:달라|다른|다르)|다른 ?점",
                         re.IGNORECASE)


# Clause boundaries: a question's parts are judged separately.
_PARTS = re.compile(
    r"\?\s+|;\s*|,\s*(?:and\s+)?(?=(?:what|how|which|who|when|where|why|and)\b)"
    r"|\s+(?:and|also|plus|as well as)\s+(?=(?:what|how|which|who|when|where|why|is|are|does|do|can|its|their|"
    r"the|a|an|any|say|tell|give|list|name|explain)\b)"
    # "A + B": two questions; "공부하고 싶은데" (want to), "쓰고 있는" (-ing), "하고 나서" (after): one clause
    r"|\s+\+\s+"
    r"|\s*(?:그리고|또한|그리고요)\s*|(?<=[하이되뭐시주])고[,\s]\s*(?!싶|있|계시|나서|난 ?뒤)"
    # ... but "A랑 B 중에 뭐가 더 ...?" names the two a single question chooses between: one clause
    r"|(?<=[가-힣A-Za-z0-9)])(?:와|과|랑|하고)(?:,\s*|\s+)(?=\S)(?!싶|있|계시|나서)"
    r"(?![^\s?]+(?:\s+[^\s?]+)?\s+(?:둘\s*)?중(?:에서|에)?(?=\s|$))",
    re.IGNORECASE)


@dataclass(frozen=True)
class Rules:
    """The switches of the decision, so variants can be compared on the dev split (evals/tune_answerability.py)."""

    korean_nouns: str = "soft"          # Korean topic nouns absent from the notes: "hard" gap, "soft", or "off"
    # soft: such nouns count as gaps only when retrieval evidence is below this score ("그래픽카드" in a
    # well-retrieved question is a synonym; "냉각" in a weakly retrieved one is a topic the notes lack)
    korean_noun_score: float = 0.6
    # ... and only when they are at least this share of the part's content words (Korean nouns and Latin
    # terms); 0 = any one such noun is a gap
    korean_noun_share: float = 0.0
    # ... and only when the question's best single line of the notes (the line leg's cosine) is below this; 0 =
    # no such gate. "회사에 AI 들일 때 부딪히는 벽들" is close to one line of 2.4 although "회사" is not in the notes;
    # "데이터센터 액체 냉각은 어떻게 해?" is close to no line
    korean_noun_line_cosine: float = 0.0
    # (Leaving refusals that rest only on such nouns to the CPU LLM's NOT_IN_NOTES was tried on the 18 dev items
    # they decide: it answered 3 of the 15 uncovered ones with invented facts and 2 of the 3 covered ones badly,
    # so the rule decides, also where an LLM runs.)
    english_dictionary: bool = True     # lower-case words in no English dictionary and not in the notes are gaps
    question_numbers: bool = True       # numbers the notes never state are gaps
    # weak retrieval evidence does not refuse a question anchored in the notes: it quotes their words
    # ('informed decision-making') or names a rare term of theirs that the evidence lines hold
    # ("Where do the notes mention provisioning?")
    anchors: bool = True
    # "rare": content words of either language that the notes never use and that are rare in everyday
    # language (wordfreq Zipf below ``rare_zipf``: "냉각", "overheating", "millisecond"; not "얘기", "keep")
    # count as gaps when retrieval evidence is below ``rare_gap_score``. Replaces the Korean-noun rule
    # ("off" there) with one that treats both languages alike.
    rare_gaps: str = "off"
    rare_zipf: float = 4.0
    rare_gap_score: float = 0.6


@dataclass
class Coverage:
    outcome: str                                   # ANSWER, PARTIAL or REFUSE
    missing: list[str] = field(default_factory=list)   # terms / slots the notes don't cover, as the student wrote them
    reasons: list[str] = field(default_factory=list)   # for logs, reports and the refusal notice
    covered_question: str = ""                         # the parts that are covered (PARTIAL)
    evidence_score: float = 0.0
    # why evidence below the threshold did not refuse: "named" (a chapter or section), "quote" (notes' words in
    # quotes), "locate" ("where do the notes mention X"), "link" (a link the evidence holds for the thing asked),
    # "rare_term" (a rare notes term the evidence holds); ""
    # when the evidence was not weak
    let_through: str = ""

    @property
    def notes_words_asked(self) -> bool:
        """The question was let through because it asks for the notes' own words: they are there by
        construction, so an LLM's "not in the notes" is its mistake, not a gap."""
        return self.let_through in ("quote", "locate")


# A year in a question: four digits from 1500 to 2099 standing alone or before 년 ("2024년"), not a decade ("1970s",
# "1970년대": the notes may state the decade's years differently) nor part of a name ("H100", "RTX 2080").
YEAR = re.compile(r"(?<![A-Z] )(?<![\w.,])((?:1[5-9]|20)\d\d)(?:년(?!대)|(?![\w%]|[.,]\d))")


# Words that follow a command's name in a sentence without being a subcommand ("is git faster than ...", "who
# maintains git these days").
_NOT_SUBCOMMANDS = frozenset("these those this that it its itself and or but so then than still also now today be been "
                             "has have had not just really even better worse faster slower more less very much "
                             "first later".split())


def unknown_commands(question: str, vocab: NotesVocabulary) -> list[str]:
    """Commands of the notes' command families that the notes never write ("git bisect" in notes whose code is
    `git commit`, `git log`, ...): a subcommand is a name, however ordinary an English word it is ("blame")."""
    found = []
    for head, words in vocab.commands.items():
        for match in re.finditer(rf"(?<![\w-]){re.escape(head)}\s+([a-z][a-z0-9-]*)", question, re.IGNORECASE):
            word = match.group(1).lower()
            if (word not in words and word not in QUESTION_WORDS and word not in _NOT_SUBCOMMANDS
                    and not word.endswith("ly") and not vocab.knows_latin(word)):
                found.append(f"{head} {word}")
    return found


def unknown_terms(question: str, vocab: NotesVocabulary, rules: "Rules | None" = None,
                  evidence_score: float = float("-inf"), line_cosine: float = 0.0) -> list[str]:
    """Salient terms of the question (names, numbers, Korean topic nouns) that the notes never use."""
    rules = rules or DEFAULT_RULES
    korean = bool(HANGUL.search(question))
    unknown: list[str] = []
    for match in LATIN_WORD.finditer(question):
        word = match.group(0)
        if vocab.knows_latin(word) or word.lower() in QUESTION_WORDS or CONTRACTED.match(question, match.end()):
            continue   # "Aren't they the same?": a contraction, not a name
        if not vocab.writes("en") and (vocab.spells_in_hangul(word) or _written_in_hangul(word, vocab)):
            continue   # Korean-only notes write the name in Hangul: "Meselson" is their 메셀슨, "Sun" their 태양
        # a name by its shape (BlueField, H100, PUE), or a lower-case word no English dictionary has
        # ("kubectl", "nvlink"): either way a thing the notes never name
        # (the dictionary test needs notes in English: Korean-only notes write "prokaryote" as 원핵생물)
        if _name_like(word, question, match.start(), korean) or (
                rules.english_dictionary and vocab.writes("en") and not_english(word.lower(), vocab)):
            unknown.append(word)
    for match in NUMBER.finditer(question) if rules.question_numbers else ():
        # "1.5", "80" (GB), "2024": a number the notes never state is a fact they can't give
        if number_key(match.group(0)) not in vocab.numbers and not _inside_latin(question, match.start()):
            unknown.append(match.group(0))
    unknown += unknown_commands(question, vocab)
    for match in YEAR.finditer(question):
        # "2024년 한국 GDP", "the inflation of 1974": a year the notes never state dates a fact they can't give
        if number_key(match.group(1)) not in vocab.numbers and match.group(0) not in unknown:
            unknown.append(match.group(0))
    nouns_apply = rules.korean_nouns == "hard" or (
        rules.korean_nouns == "soft" and evidence_score < rules.korean_noun_score
        and not (rules.korean_noun_line_cosine > 0 and line_cosine >= rules.korean_noun_line_cosine))
    # Korean nouns are looked up only in notes written in Korean: English-only notes say "opportunity cost" for
    # 기회비용, and a vocabulary cannot tell a translation from a gap (there, retrieval evidence decides)
    if korean and vocab.writes("ko"):
        def unknown_of(nouns):
            return [t for t in nouns if not knows_korean(t, vocab) and not in_known_word(t, question, vocab)
                    and not _chat_ending_on_known(t, vocab)]
        nouns = _korean_proper_nouns(question, proper_only=not nouns_apply)
        unknown_nouns = unknown_of(nouns)
        if nouns_apply and unknown_nouns and rules.korean_noun_share > 0:
            # "회사에 AI 들일 때 부딪히는 벽들 알려주세요. 성능 문제 빼고": one everyday noun among the notes' own
            # words is a paraphrase; "은행 대출 심사도 대신 해줘?": mostly words the notes lack is another topic
            content = len(nouns) + sum(1 for m in LATIN_WORD.finditer(question) if m.group(0).lower() not in QUESTION_WORDS)
            if len(unknown_nouns) / max(content, 1) < rules.korean_noun_share:
                unknown_nouns = unknown_of(_korean_proper_nouns(question, proper_only=True))
        unknown += unknown_nouns
    if rules.rare_gaps == "rare" and evidence_score < rules.rare_gap_score:
        unknown += [w for w in _content_words(question) if w not in unknown and _rare_gap(w, vocab, rules.rare_zipf)]
    return list(dict.fromkeys(unknown))


def _chat_ending_on_known(noun: str, vocab: NotesVocabulary) -> bool:
    """"어느 열임?": Kiwi reads the chat ending 임 ("is it") into the noun before it; the noun without it is a word
    of the notes or of the question's frame. ("게임" keeps its 임: 게 is neither.)"""
    stem = noun[:-1]
    return noun.endswith("임") and bool(stem) and (stem in KO_FRAME_NOUNS or knows_korean(stem, vocab))


def _content_words(question: str) -> list[str]:
    """Korean topic nouns and lower-case English words of four letters or more, question frame removed."""
    words = [m.group(0) for m in LATIN_WORD.finditer(question)
             if m.group(0).islower() and m.group(0).isalpha() and len(m.group(0)) >= 4
             and m.group(0) not in QUESTION_WORDS and m.group(0) not in _EN_FRAME]
    if HANGUL.search(question):
        words += _korean_proper_nouns(question)
    return words


# Words that frame an English question about notes rather than name its topic (general patterns).
_EN_FRAME = frozenset("course notes chapter section sections mention mentioned mentions talk talks talked "
                      "say says said come comes sense kind kinds thing things cover covers covered "
                      "about into than then them they there their these those this that with from your".split())


def _rare_gap(word: str, vocab: NotesVocabulary, rare_zipf: float) -> bool:
    """The notes never use ``word`` (in any form) and everyday language rarely does: a topic they lack."""
    korean = bool(HANGUL.search(word))
    if korean:
        if knows_korean(word, vocab):
            return False
    elif vocab.knows_latin(word):
        return False
    # a word missing from the everyday list too (Zipf 0: a loanword, a rare typo) counts as rare; without
    # wordfreq nothing does
    value = zipf(word, "ko" if korean else "en")
    return value is not None and value < rare_zipf


def _inside_latin(text: str, start: int) -> bool:
    return start > 0 and text[start - 1].isalpha() and text[start - 1].isascii()


_SHOUTED = frozenset("all any the you not say now your our this that and for are was has have had its one two "
                     "new old big top per via yes out off own".split())


# Everyday abbreviations that name no product: "SW 스택" is the software stack the notes describe.
_EVERYDAY_ABBREVIATIONS = frozenset("sw hw os pc it db ui ux qa faq etc eg ie vs ok tv id pdf app apps".split())


def _written_in_hangul(word: str, vocab: NotesVocabulary) -> bool:
    """Notes with no English write this word in Hangul, so it can't be looked up in them: a capitalised word of
    the English dictionary ("Earth", "Sun", "Mesozoic": nouns they translate), or a name whose number they state
    ("uranium-238" where they say 우라늄-238). Acronyms and product-like names (BlueField, H100) they write in
    Latin letters: those are still looked up."""
    if re.fullmatch(r"[A-Z][a-z]+", word) and word.lower() in english_words():
        return True   # a capitalised dictionary word; a name no dictionary has ("Rosalind") is still looked up
    numbers = re.findall(r"\d+", word)
    return bool(numbers) and re.fullmatch(r"[A-Za-z]+-?\d+", word) is not None and word[0].islower() \
        and all(number_key(n) in vocab.numbers for n in numbers)


def _name_like(word: str, text: str, start: int, korean: bool) -> bool:
    """A product, standard or acronym: digits, capitals inside, all caps, or capitalised mid-sentence."""
    if len(word) < 2 or word.lower() in QUESTION_WORDS or word.lower() in _EVERYDAY_ABBREVIATIONS:
        return False
    brand = re.search(r"\b([A-Z]{3,})\s*$", text[:start])
    if word.isupper() and brand and brand.group(1).lower() not in _SHOUTED and brand.group(1).lower() not in english_words():
        return True   # "NVIDIA DRIVE", "ACME CLOUD": a product line after a brand name, however English the word
    if word.isupper() and (word.lower() in _SHOUTED or len(word) >= 4 and word.lower() in english_words()):
        return False   # "IGNORE ALL PREVIOUS INSTRUCTIONS": shouted English, not acronyms (PUE, DPU, AMD)
    if any(c.isdigit() for c in word) or any(c.isupper() for c in word[1:]):
        return True
    if not word[0].isupper():
        return False
    if korean:
        return True   # Korean has no capitalised sentence starts: a capitalised Latin word is a name
    before = text[:start].rstrip()
    return bool(before) and before[-1] not in ".?!:\"'(“"


def _korean_proper_nouns(question: str, proper_only: bool = False) -> list[str]:
    """Korean nouns that name the topic (not the question's frame): proper nouns, and (unless
    ``proper_only``) common nouns of two or more syllables ("냉각", "설치"). The caller keeps those the
    notes never use."""
    try:
        from .text.tokenize import get_kiwi
        kiwi = get_kiwi()
    except Exception:   # no Kiwi: the Latin and number checks still run
        return []
    tags = ("NNP",) if proper_only else ("NNP", "NNG")
    return [t.form for t in kiwi.tokenize(question)
            if t.tag in tags and len(t.form) >= 2 and HANGUL.search(t.form) and t.form not in KO_FRAME_NOUNS]


_QUOTED = re.compile(r"['\"‘’“”「」『』]([^'\"‘’“”「」『』]{2,80})['\"‘’“”「」『』]")


# A notes token counts as rare when few sections use it: it names a topic, not the course's everyday words.
ANCHOR_MAX_SECTIONS = 3


def anchored(question: str, evidence_text: str, vocab: "NotesVocabulary") -> str:
    """"quote" when the question quotes the notes, "rare_term" when it names a rare notes term that the evidence
    lines hold, else "" (falsy)."""
    lowered = evidence_text.lower()
    for quote in _QUOTED.findall(question):
        # a quoted Korean word of two syllables ('배포') is as specific as four Latin letters
        if len(quote.strip()) < (2 if HANGUL.search(quote) else 4):
            continue
        if quote.strip().lower() in vocab.text:
            return "quote"
    evidence_tokens = set(tokenize(evidence_text))
    rare = any(vocab.section_count.get(t, 99) <= ANCHOR_MAX_SECTIONS and t in evidence_tokens and len(t) >= 3
               and t.lower() in lowered for t in tokenize(question))
    return "rare_term" if rare else ""


# "Which parts of the notes mention inference?", "실시간 얘기 나오는 데 다 찾아줘": a question asking where the notes say
# something is answered by the sections that say it, however weakly its few words retrieve a whole section.
_LOCATE = re.compile(
    r"\b(?:where|which\s+(?:parts?|sections?|chapters?))\b[^?]*?\b(?:mention\w*|talks?\s+about|discuss\w*|comes?\s+up|"
    r"shows?\s+up|covers?)\b|\bshows?\s+up\s+in\s+(?:a\s+few|several|many|various|different)\s+places\b|(?:나오는|나온|언급(?:하는|된|되는)?|다루는)\s*(?:데|곳|부분|섹션|챕터)|어디(?:에|서)?\s*(?:나와|나오|언급)",
    re.IGNORECASE)


# ... and one that wants every place ("which parts", "in which contexts", "나오는 데 다 찾아줘"), not the one
# section retrieval ranks first ("which chapter covers X?" asks for one)
_EVERY_MENTION = re.compile(
    r"\bwhere\b[^?]*?\b(?:mention\w*|talks?\s+about|discuss\w*|comes?\s+up|covers?)\b|"
    r"\bwhich\s+(?:parts|sections|chapters|places)\b|\b(?:in\s+)?(?:which|what)\s+contexts?\b|"
    r"\b(?:every|each)\s+(?:place|section|time|mention)\b|\b(?:a\s+few|several|many|various|different)\s+places\b|\ball\s+the\s+(?:places|sections|mentions)\b|"
    r"(?:나오는|나온|언급(?:하는|된|되는)?|다루는|붙은)\s*(?:데|곳|부분|섹션|맥락)|어디어디(?:서|에)?\s*(?:나|언급)|"
    r"(?:어떤|무슨)\s*맥락|맥락(?:에서|으로)\s*(?:나와|나오|언급|쓰)|"
    r"노트\s*어디어디|(?:다|전부|모두)\s*(?:찾아|모아)",
    re.IGNORECASE)


def asks_every_mention(question: str) -> bool:
    """The student wants every place the notes say something, each with what it says there."""
    return bool(_EVERY_MENTION.search(question))


_LOCATE_FRAME = frozenset("part note mention section chapter course role sense talk discuss come cover way "
                          "나오 얘기 각각 찾 내용 부분 곳 데 다 무슨 어디 언급 군데 정리".split())


def quoted_terms(question: str) -> list[str]:
    """What the student put in quotes ("'지능형'이 붙은 사례", "the phrase 'informed decision-making'")."""
    return [q.strip() for q in _QUOTED.findall(question) if q.strip()]


def frames_a_mention_question(token: str) -> bool:
    """The token frames a "where do the notes mention X" question ("mention", "나오", "where") rather than name X."""
    return token in _LOCATE_FRAME or token in _MENTION_FRAME or token.lower() in QUESTION_WORDS


_MENTION_FRAME = frozenset("context time place every each all say said up mentioned mentions discussed talked covered few "
                           "several various different list them 1 one "
                           "comes came appear appears appeared show shows 맥락 장 장별 모으 모아 전부 모두 붙 짚 단어 표현 노트 알리 "
                           "말 용어 얘기".split())


def links_asked_thing(question: str, evidence_text: str, vocab: "NotesVocabulary") -> bool:
    """A request for a link ("NGC 카탈로그 링크 좀 줘봐") that an evidence line answers: the line holds a URL and
    names a rare notes term of the question ("NGC Catalog : https://..."), however weakly the few words retrieved."""
    if "url" not in asked_slots(question):
        return False
    # section texts of both languages count, so a term of three sections is in up to six
    asked = {t for t in tokenize(question) if vocab.section_count.get(t, 99) <= 2 * ANCHOR_MAX_SECTIONS}
    return any(URL_LINE.search(line) and asked & set(tokenize(URL_LINE.split(line)[0]))
               for line in evidence_text.splitlines())


def asks_where_notes_say(question: str, evidence_text: str, vocab: "NotesVocabulary") -> bool:
    """A "where do the notes mention X" question whose every content word is a notes word, some of them in the
    evidence lines ("Where do the notes mention liquid cooling?" is not: the notes never say "liquid")."""
    if not (_LOCATE.search(question) or _EVERY_MENTION.search(question)):
        return False
    words = [t for t in tokenize(question) if not frames_a_mention_question(t)]
    evidence = set(tokenize(evidence_text))
    # a misspelt notes word ("트렌스포머") is still that word, in the vocabulary and in the evidence
    spelt = {t: _notes_spelling(t, vocab) for t in words}
    return (bool(words) and all(spelt[t] for t in words)
            and any(t in evidence or spelt[t] in evidence for t in words))


def _notes_spelling(token: str, vocab: "NotesVocabulary") -> str:
    """The notes' own form of ``token``: itself, or the notes word it misspells by one syllable; "" if neither."""
    if token in vocab.section_count:
        return token
    if HANGUL.search(token) and len(token) >= 3:
        return next((known for known in vocab.section_count if one_syllable_off(token, known)), "")
    return ""


_REFERS_BACK = re.compile(r"\b(?:it|its|this|that|them|they|their|there)\b|그것|그거|이것|이거|거기|그걸|여기서", re.IGNORECASE)


def split_parts(question: str) -> list[str]:
    parts = [p.strip(" ,.?!") for p in _PARTS.split(question)]
    return [p for p in parts if p and tokenize(p)]


WEAK_EVIDENCE = "weak retrieval evidence"
OFF_TOPIC = "nearer an everyday question than any line of the notes"


def weakly_retrieved(coverage: Coverage) -> bool:
    """Refused only because retrieval found too little for the question as a whole."""
    return coverage.outcome == REFUSE and bool(coverage.reasons) and coverage.reasons[0].startswith(WEAK_EVIDENCE)


def combine_parts(parts: list[str], coverages: list[Coverage], vocab: NotesVocabulary) -> Coverage | None:
    """A question refused for weak evidence as a whole, judged again part by part, each part with its own retrieval
    (``coverages``): "LLM이 뭔지 짧게 + 할루시네이션은 왜 생겨?" retrieves little as one question, while its first part
    alone finds 3.3. PARTIAL when exactly one part is answered on its own; what the others ask is named as missing
    (their unknown terms, else the part itself). None when no part, or more than one, stands on its own."""
    answered = [i for i, c in enumerate(coverages) if c.outcome == ANSWER]
    if len(parts) < 2 or len(answered) != 1 or any(_COMPARISON.search(part) for part in parts):
        return None   # "집에서 쓰는 와이파이랑 데이터센터 통신은 뭐가 다른 거야?": a comparison does not split
    missing: list[str] = []
    for part, coverage in zip(parts, coverages):
        if coverage.outcome != ANSWER:
            missing += coverage.missing or unknown_terms(part, vocab) or [_shortened(part)]
    chosen = coverages[answered[0]]
    return Coverage(PARTIAL, list(dict.fromkeys(missing)), [f"judged by parts: {', '.join(missing)}"],
                    covered_question=parts[answered[0]], evidence_score=chosen.evidence_score)


def _shortened(part: str, limit: int = 40) -> str:
    return part if len(part) <= limit else part[:limit].rsplit(" ", 1)[0] + "…"


# An exam-style tag before the question ("[One word]", "[단답형]", "(서술형)") says how to answer, not what about.
_EXAM_TAG = re.compile(r"^\s*[\[(【]\s*[^\])】]{1,24}[\])】]\s*")


def assess(question: str, language: str, evidence_text: str, evidence_score: float, threshold: float,
           vocab: NotesVocabulary, rules: Rules | None = None, named_in_notes: bool = False,
           line_cosine: float = 0.0, evidence_titles: str = "", off_topic: bool = False) -> Coverage:
    """The three-way decision. ``evidence_text``: the lines an answer would use, one per line;
    ``line_cosine``: the question's cosine with its closest line of the notes (0 when unknown);
    ``evidence_titles``: the titles of the sections those lines come from, one per line;
    ``off_topic``: the question is nearer an everyday question no course answers than any line of the notes.

    ``named_in_notes``: the question names a chapter or section of the notes (``rag.structure``), so weak
    retrieval evidence is no reason to refuse it; what it asks beyond that is still checked."""
    rules = rules or DEFAULT_RULES
    coverage = Coverage(ANSWER, evidence_score=evidence_score)
    if off_topic and not named_in_notes:
        coverage.outcome = REFUSE
        coverage.reasons.append(OFF_TOPIC)
        return coverage
    if evidence_score < threshold:
        if named_in_notes:
            coverage.let_through = "named"
        elif rules.anchors:
            coverage.let_through = ("locate" if asks_where_notes_say(question, evidence_text, vocab)
                                    else "link" if links_asked_thing(question, evidence_text, vocab)
                                    else anchored(question, evidence_text, vocab))
        if not coverage.let_through:
            coverage.outcome = REFUSE
            coverage.reasons.append(f"{WEAK_EVIDENCE} ({evidence_score:.2f} < {threshold:.2f})")
            return coverage
    question = _EXAM_TAG.sub("", question)
    parts = split_parts(question) or [question]
    covered, missing, gap_parts, unknown_things = [], [], [], []
    for index, part in enumerate(parts):
        terms = unknown_terms(part, vocab, rules, evidence_score, line_cosine)
        gaps = terms + [slot_name(s, language) for s in asked_slots(part, vocab)
                        if not slot_filled(s, evidence_text, part, evidence_titles, vocab)]
        if not gaps and unknown_things and _REFERS_BACK.search(part):
            # "What is MLPerf and how do GPUs score on it?": "it" is the unknown thing. Not after a slot alone: in
            # "how many rack units does a GPU server take, and what is it designed to speed up?" it is the server.
            gaps.append(unknown_things[-1])
        unknown_things += terms
        if gaps:
            missing += gaps
            gap_parts.append(index)
        else:
            covered.append(part)
    coverage.missing = list(dict.fromkeys(missing))
    if not coverage.missing:
        return coverage
    coverage.reasons.append("the notes never mention: " + ", ".join(coverage.missing))
    # "BlueField DPU와 GPU의 차이는?": a comparison in the part with the gap or the part right after it
    # compares with the unknown thing, so no part of it can be answered; "CPU와 GPU 차이와 H100의 메모리는?"
    # asks the comparison first and the unknown after: that is two questions.
    compares_unknown = any(_COMPARISON.search(parts[i]) or (i + 1 < len(parts) and _COMPARISON.search(parts[i + 1]))
                           for i in gap_parts)
    if not covered or compares_unknown or len(parts) == 1:
        coverage.outcome = REFUSE
        if compares_unknown and covered:
            coverage.reasons.append("a comparison with something the notes don't cover")
        return coverage
    coverage.outcome = PARTIAL
    coverage.covered_question = " ".join(covered)
    return coverage


# What ships: the variant evals/tune_answerability.py chose on the 512-item dev split (evals/reports/answerability/:
# the highest refusal recall minus twice the false refusal rate, then the simpler rule). History: the first version
# (Korean nouns "hard", fitted on the 76 v1 dev items) refused 21% of the covered test questions (31% in Korean);
# refitted on 192 dev items it still refused 16-20% of a third writer's (v3) and the test split's covered questions:
# the slot rules (steps, advice, ranking, units), chapter/section references and the wider frame-noun list came
# from reading those dev failures, and the choice rule now pays twice for a false refusal. A fifth writer (v5,
# everyday Korean paraphrases) was refused 45% of the time in Korean by the rule fitted on 412 items: Hangul
# letter-name acronyms ("씨피유"), adverb-like frame nouns and a lower noun score (0.6 -> 0.5) came from v5; the
# noun-share variant (korean_noun_share 0.25) tied with the same rule without it. With the line leg (a question's
# cosine with its closest line), Korean nouns the notes lack are no gap when that cosine is high: fitted on the 512
# dev items the gate was 0.88 (noun score 0.7); a sixth writer (v6), scored before any change, was then refused 21%
# of the time (Korean 32%; 20% / 29% with the rules at the start of that session), mostly for everyday nouns again
# ("부품", "숫자", "통신망"); refitted on the 612 dev items with v6: gate 0.86, noun score 0.6 (false refusals 0.061
# -> 0.028, refusal recall 0.856 -> 0.814 on those 612; evals/reports/answerability/).
DEFAULT_RULES = Rules(korean_nouns="soft", korean_noun_score=0.6, korean_noun_share=0.0, korean_noun_line_cosine=0.86,
                      english_dictionary=True, question_numbers=False, anchors=True, rare_gaps="off")
