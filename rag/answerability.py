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
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from .text.loanwords import MIN_CLASSES, LoanwordMap, consonant_count, hangul_skeleton, latin_skeleton, spelled_acronyms
from .text.tokenize import stem_en, tokenize

ANSWER, PARTIAL, REFUSE = "answer", "partial", "refuse"

# Words that start or glue English questions; a capitalised one at the start is not a name.
_QUESTION_WORDS = frozenset(
    "what which who whom whose how why when where is are was were do does did can could should would will "
    "tell explain describe list name give compare please i in on at for according according to the a an "
    "and or but also vs versus by from of with url urls link links ai "
    # the notes' own languages: "The Korean notes say ..." names no topic
    "korean english hangul".split())
_CONTRACTED = re.compile(r"['’](?:t|re|ve|ll|d|m)\b", re.IGNORECASE)   # not 's: "Apple's" is a name's
_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9+\-]*(?:\.[A-Za-z0-9]+)*")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")

# The asked-for slot, and what an evidence line must hold to fill it.
_SLOTS = {
    # "how many stages?": a count, answered by a number or by a list of lines to count
    "count": (re.compile(r"\bhow many\b|\bnumber of\b|몇\s*(?:개|가지|단계|종류|명|대)|얼마나 많", re.IGNORECASE),
              re.compile(r"\d|\n.*\n")),
    "number": (re.compile(r"\bhow much (?:memory|power|faster|"
                          r"slower|more|less|bandwidth|energy|ram|vram)\b|몇\s*(?:배|퍼센트|%|기가|GB|코어|와트|"
                          r"테라|TB|TFLOPS|페타|PB|메가|밀리|킬로|초|분|와트)"
                          # a quantity in a unit: "latency in milliseconds", "size in petabytes"
                          r"|\bin (?:milli|micro|nano)?seconds?\b|\bin (?:ms|gb|tb|pb|mb|gbps|tbps|watts?|kw|mw|ghz|"
                          r"mhz|percent|flops|tflops)\b|\bin (?:kilo|mega|giga|tera|peta)(?:bytes?|watts?|hertz)\b"
                          # "how much electricity / noise", "how many watts", "per hour", "얼마로 잡아": an amount
                          # ("how much does it help" asks a degree: a verb follows, not a noun)
                          r"|\bhow much (?!(?:does|do|did|is|are|was|were|can|could|will|would|should|has|have|"
                          r"of|more|less|faster|slower|better)\b)[a-z]{3,}|\bhow many (?:watts?|volts?|amps?|"
                          r"(?:kilo|mega|giga|tera|peta)?(?:bytes?|watts?)|parameters|flops)\b|"
                          r"\bper (?:hour|day|week|month|year|kwh)\b|얼마(?!나)"
                          # "몇 kg", "몇 조 단어": a unit in Latin letters or a large-number word after 몇
                          r"|몇\s*(?:[A-Za-z]{1,5}\b|조|억|천만|백만)",
                          re.IGNORECASE),
               re.compile(r"\d")),
    # a procedure the student wants to carry out: the notes explain ideas, they give no steps or commands
    "steps": (re.compile(r"\bhow (?:do|can|should|would) (?:i|we)\b|\bstep[- ]by[- ]step\b|\bwhat steps\b|"
                         r"\bsteps to\b|\bwhich command|\bwhat command|하는 ?법|하는 ?방법|할 ?수 ?있는 ?방법|"
                         r"어떻게 ?(?:해결|설정|설치|하면 ?돼|해야|하나요|해\?)|어케 ?(?:해|하)|단계별로|명령어|"
                         # "CUDA 설치 방법", "학습 돌리는 방법 알려줘": a method to carry out, not one the notes list
                         # ("다른 방법은 뭐 있어?")
                         r"(?:설치|설정|세팅|셋업|구축)\s*(?:하는\s*)?(?:방법|순서)|는 ?방법 ?(?:좀 ?)?알려|"
                         # "직접 만들어 보려면 뭐부터 시작해야 돼?", "where do I start"
                         r"(?:뭐|무엇|어디)(?:부터|서부터) ?(?:시작|해야)|\bwhere (?:do|should|can) (?:i|we) (?:start|begin)\b",
                         re.IGNORECASE),
              # ... unless they give the command itself: code in backticks, a shell line, a call "name()", a flag
              # ("which commands change data?" on notes that write `INSERT`, `print()`, `--force`)
              re.compile(r"`|\$ |^\s*\d+[.)]\s|\bstep|단계|절차|명령|\b[A-Za-z_][\w.]*\(\)|(?:^|\s)--[a-z][\w-]+",
                         re.IGNORECASE | re.MULTILINE)),
    # advice for the student: the notes recommend nothing to a reader
    "advice": (re.compile(r"\brecommend|(?<!section )(?<!chapter )(?<!part )(?<!page )\bshould i\b|\bwhich (?!(?:section|chapter|part|page)s? should)[a-z ]+ should i\b|\bworth (?:buying|learning|it)\b|"
                          r"\beasier (?:for (?:a |an )?(?:beginner|newbie|novice)|to learn)|초보자?(?:한테|에게|가|용)|"
                          r"추천|골라 ?줘|뭘 ?(?:사야|배워야|써야)|뭐 ?(?:사야|배워야)", re.IGNORECASE),
               re.compile(r"recommend|권장|추천", re.IGNORECASE)),
    # a ranking the notes never make
    "ranking": (re.compile(r"\btop \d+\b|\brank(?:ing|ed)?\b|\bthe most (?:money|popular|used|common)\b|순위|"
                           r"(?:가장|제일) 많이 (?:쓰|사용|투자)", re.IGNORECASE),
                re.compile(r"\brank|순위|\btop \d|\d+위")),
    "year": (re.compile(r"\b(?:what|which) year\b|\bin what year\b|\bwhen (?:was|were|did)\b|^\s*(?:and )?when\s*\??\s*$|몇\s*년(?:도)?에|"
                        r"언제|연도|년도", re.IGNORECASE),
             re.compile(r"\b(?:1\d|20)\d\d\b|\d+년")),
    "price": (re.compile(r"\bprices?\b|\bpriced\b|\bpricing\b|\b(?:electricity|power|energy|annual|monthly) bills?\b|\bhow much (?:does|do|is|are|would|will)\b[^?]*\b(?:cost|pay|charge)|"
                         r"\bwhat (?:does|do|would|will) [^?]*\bcost\b|\$\s*\d|"
                         r"가격|요금|구독료|라이선스 ?비|얼마(?:예요|에요|인가|야|임|죠|나 ?해)|"
                         # which costs less: the notes give no prices to compare ("is renting cheaper than buying?")
                         r"\bcheap(?:er|est)?\b|\bmore expensive\b|\bcosts? less\b|저렴|더 ?싸|(?:제일|가장) ?싼|싸게",
                         re.IGNORECASE),
              re.compile(r"[$€£₩]\s*\d|\d\s*(?:달러|원|dollars?|usd|krw)", re.IGNORECASE)),
    "duration": (re.compile(r"\bhow long\b|\bhow many (?:seconds|minutes|hours|days|weeks|months|years)\b|얼마나 걸|기간|소요 ?시간",
                            re.IGNORECASE),
                 # (not "1분자", one molecule, nor "2분열", "3분의 1")
                 re.compile(r"\d+\s*(?:초(?![과기])|분(?![자열의해석류])|시간|일(?![부반])|주(?![기요])|개월|년|seconds?|"
                            r"minutes?|hours?|days?|weeks?|months?|years?)", re.IGNORECASE)),
    "version": (re.compile(r"\bversions?\b|\bwhich release\b|\b(?:latest|newest|current) release\b|버전|릴리스",
                           re.IGNORECASE),
                re.compile(r"\bv?\d+\.\d+|버전\s*\d|version\s*\d", re.IGNORECASE)),
    # who invented / coined / founded something: the notes name no people
    "person": (re.compile(r"\bwho (?:first|originally|coined|invented|founded|created|came up|developed|built)\b|"
                          r"누가 ?(?:처음|만들|발명|창시|개발)|창시자|발명자|만든 ?사람|창업자", re.IGNORECASE),
               re.compile(r"\b(?:invented|coined|founded|created|developed|proposed|published|written) by\b|\bfounder|"
                          r"\binventor|발명|창시|창업자|제안|발표", re.IGNORECASE)),
    # the student wants a forecast or an opinion: the notes make none
    "forecast": (re.compile(r"\bdo you think\b|\bin your (?:opinion|view)\b|\bwill [a-z ]{0,30}\breplace\b|"
                            r"\bin the (?:next|coming) (?:\d+|few|ten|five) years\b|보시나요|전망|예측해|"
                            r"대체할 ?(?:것|까)|어떻게 보(?:세요|나요|시나요|냐)|라고 봐요|"
                            # "10년 뒤에도 GPU가 주인공일까?", "in ten years' time"
                            r"(?:\d+|몇|십)\s*년 ?(?:뒤|후)|\bin (?:\d+|ten|five|twenty) years(?:'|’)? time\b|\bwill still\b",
                            re.IGNORECASE),
                 re.compile(r"전망|예측|forecast|predict", re.IGNORECASE)),
    # a legal, safety or liability judgement: course notes on AI infrastructure state none ("can I sue the bank?",
    # "is it safe to put patient records in the cloud?", "자율주행차에서 자도 법적으로 괜찮음?")
    "judgement": (re.compile(r"\bis it (?:safe|legal|allowed|lawful)\b|\bsafe to\b|\blegal(?:ly)?\b|\billegal\b|"
                             r"\bconsent\b|동의(?:를|가)? ?(?:받아야|필요)|\bethic(?:s|al|ally)?\b|\bunethical\b|"
                             r"\bdiscriminat\w*|윤리|차별|"
                             r"\bsue\b|\blawsuits?\b|\bliab(?:le|ility)\b|\bcomplain\b|\bbad for (?:your|my|our|the) health\b|"
                             r"\bviolat\w*|\bbreach\w*|\bprivacy laws?\b|위반|침해|"
                             r"법적|합법|불법|소송|고소|책임(?:은|이)? 누구|누구 책임|안전(?:해|한가|할까|하나요|한 ?거)|"
                             r"건강에 (?:나쁘|나쁜|나빠|해로|해롭|안 ?좋)", re.IGNORECASE),
                  re.compile(r"\blegal|\blaw\b|\bliab|\bsafety\b|\bsafe\b|\bregulat|법적|법률|규제|책임|안전", re.IGNORECASE)),
    # the first of its kind ever: the notes give no such history ("What was the first drug ever discovered with AI?")
    "first": (re.compile(r"\bthe (?:very )?first\b[^?]*\bever\b|\bfirst[- ]ever\b|최초의?|맨 ?처음(?:으로)? ?(?:나온|만든|개발|발견)",
                         re.IGNORECASE),
              re.compile(r"\bfirst\b|최초|처음", re.IGNORECASE)),
    # careers: the notes are about infrastructure, not the jobs around it ("Do I need a degree to work in AI data
    # center operations?", "야근 많아요?"); not "job", which the notes use for scheduled work
    "career": (re.compile(r"\bcareers?\b|\bdegree\b|\bsalar(?:y|ies)\b|\bhir(?:e|es|ed|ing)\b|\binterviews?\b|"
                          r"\bout of work\b|\b(?:lose|losing|cost|take|replace)s? (?:\w+ )?jobs\b|"
                          r"취업|취직|연봉|야근|당직|이직|채용|커리어|전공|학위|월급|면접|일자리|실직|해고", re.IGNORECASE),
               re.compile(r"\bcareer|\bsalar|\bhiring\b|취업|채용|연봉|커리어", re.IGNORECASE)),
    "url": (re.compile(r"\burl\b|\b(?:the|a|any|its|web) link\b|\blinks? (?:to|for)\b|\bwebsite\b|\bweb address\b|\bweb ?page\b|\bhomepage\b|링크|주소|웹사이트|홈페이지", re.IGNORECASE),
            re.compile(r"https?://|www\.", re.IGNORECASE)),
}
_SLOT_NAMES = {
    "duration": {"en": "how long it takes", "ko": "걸리는 시간"},
    "count": {"en": "the number asked for", "ko": "물어본 수치"},
    "number": {"en": "the number asked for", "ko": "물어본 수치"},
    "year": {"en": "the year asked for", "ko": "물어본 연도"},
    "price": {"en": "prices or costs", "ko": "가격/비용"},
    "version": {"en": "versions", "ko": "버전"},
    "url": {"en": "the link asked for", "ko": "물어본 링크"},
    "steps": {"en": "step-by-step instructions", "ko": "단계별 방법"},
    "advice": {"en": "recommendations", "ko": "추천"},
    "ranking": {"en": "rankings", "ko": "순위"},
    "person": {"en": "who did it", "ko": "누가 했는지"},
    "forecast": {"en": "forecasts or opinions", "ko": "전망이나 의견"},
    "judgement": {"en": "legal or safety judgements", "ko": "법적·안전 판단"},
    "career": {"en": "careers and jobs", "ko": "진로·취업"},
    "first": {"en": "which was the first", "ko": "최초의 것"},
}
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
    r"|(?<=[가-힣A-Za-z0-9)])(?:와|과|랑|하고)(?:,\s*|\s+)(?=\S)(?!싶|있|계시|나서)",
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
class NotesVocabulary:
    """Every word the notes use, in both languages, and every number they state."""

    latin: set[str] = field(default_factory=set)     # lower-cased, light-stemmed Latin words
    korean: set[str] = field(default_factory=set)    # Kiwi content tokens
    numbers: set[str] = field(default_factory=set)
    text: str = ""                                   # all of it, lower-cased, for quoted phrases
    section_count: dict = field(default_factory=dict)   # token -> how many section texts use it
    # the languages the notes are written in ("ko", "en"); a word of another language can't be looked up in them
    languages: set[str] = field(default_factory=lambda: {"ko", "en"})
    _hangul_sounds: set | None = field(default=None, repr=False, compare=False)   # derived, built on first use
    _loanwords: LoanwordMap | None = field(default=None, repr=False, compare=False)   # derived, built on first use

    @classmethod
    def build(cls, texts, glossary_entries=(), languages=("ko", "en")) -> "NotesVocabulary":
        vocab = cls(languages=set(languages))
        texts = list(texts)
        vocab.text = "\n".join(texts).lower()
        for text in texts:
            for token in set(tokenize(text)):
                vocab.section_count[token] = vocab.section_count.get(token, 0) + 1
        for text in texts + [f"{e.ko} {e.en}" for e in glossary_entries]:
            vocab.latin.update(_latin_key(w) for w in _LATIN.findall(text))
            vocab.numbers.update(_number_key(n) for n in _NUMBER.findall(text))
            if _HANGUL.search(text):
                vocab.korean.update(t for t in tokenize(text) if _HANGUL.search(t))
        return vocab

    FORMAT = 2

    def save(self, path) -> None:
        """Best effort, atomic: a cache that cannot be written costs the next process seconds, never an answer."""
        import json
        import os
        import tempfile
        from pathlib import Path

        data = {"format": self.FORMAT, "latin": sorted(self.latin), "korean": sorted(self.korean),
                "numbers": sorted(self.numbers), "text": self.text, "section_count": self.section_count,
                "languages": sorted(self.languages)}
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
                       dict(data["section_count"]), set(data["languages"]))
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
        key = _latin_key(word)
        if key in self.latin:
            return True
        # "NVLink4" / "H100-SXM": judge the pieces; "GPUs" -> "gpu" is handled by the stemmer
        pieces = [p for p in re.split(r"[\-+.]|(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])", key) if p]
        return len(pieces) > 1 and all(p in self.latin or p.isdigit() and p in self.numbers for p in pieces)


def _latin_key(word: str) -> str:
    return stem_en(word.lower().strip(".-+"))


def _number_key(number: str) -> str:
    return number.replace(",", "")


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


def unknown_terms(question: str, vocab: NotesVocabulary, rules: "Rules | None" = None,
                  evidence_score: float = float("-inf"), line_cosine: float = 0.0) -> list[str]:
    """Salient terms of the question (names, numbers, Korean topic nouns) that the notes never use."""
    rules = rules or DEFAULT_RULES
    korean = bool(_HANGUL.search(question))
    unknown: list[str] = []
    for match in _LATIN.finditer(question):
        word = match.group(0)
        if vocab.knows_latin(word) or word.lower() in _QUESTION_WORDS or _CONTRACTED.match(question, match.end()):
            continue   # "Aren't they the same?": a contraction, not a name
        if not vocab.writes("en") and vocab.spells_in_hangul(word):
            continue   # Korean-only notes write the name in Hangul: "Meselson" is their 메셀슨
        # a name by its shape (BlueField, H100, PUE), or a lower-case word no English dictionary has
        # ("kubectl", "nvlink"): either way a thing the notes never name
        # (the dictionary test needs notes in English: Korean-only notes write "prokaryote" as 원핵생물)
        if _name_like(word, question, match.start(), korean) or (
                rules.english_dictionary and vocab.writes("en") and _not_english(word.lower(), vocab)):
            unknown.append(word)
    for match in _NUMBER.finditer(question) if rules.question_numbers else ():
        # "1.5", "80" (GB), "2024": a number the notes never state is a fact they can't give
        if _number_key(match.group(0)) not in vocab.numbers and not _inside_latin(question, match.start()):
            unknown.append(match.group(0))
    nouns_apply = rules.korean_nouns == "hard" or (
        rules.korean_nouns == "soft" and evidence_score < rules.korean_noun_score
        and not (rules.korean_noun_line_cosine > 0 and line_cosine >= rules.korean_noun_line_cosine))
    # Korean nouns are looked up only in notes written in Korean: English-only notes say "opportunity cost" for
    # 기회비용, and a vocabulary cannot tell a translation from a gap (there, retrieval evidence decides)
    if korean and vocab.writes("ko"):
        def unknown_of(nouns):
            return [t for t in nouns if not _knows_korean(t, vocab) and not _in_known_word(t, question, vocab)
                    and not _chat_ending_on_known(t, vocab)]
        nouns = _korean_proper_nouns(question, proper_only=not nouns_apply)
        unknown_nouns = unknown_of(nouns)
        if nouns_apply and unknown_nouns and rules.korean_noun_share > 0:
            # "회사에 AI 들일 때 부딪히는 벽들 알려주세요. 성능 문제 빼고": one everyday noun among the notes' own
            # words is a paraphrase; "은행 대출 심사도 대신 해줘?": mostly words the notes lack is another topic
            content = len(nouns) + sum(1 for m in _LATIN.finditer(question) if m.group(0).lower() not in _QUESTION_WORDS)
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
    return noun.endswith("임") and bool(stem) and (stem in _KO_FRAME_NOUNS or _knows_korean(stem, vocab))


def _content_words(question: str) -> list[str]:
    """Korean topic nouns and lower-case English words of four letters or more, question frame removed."""
    words = [m.group(0) for m in _LATIN.finditer(question)
             if m.group(0).islower() and m.group(0).isalpha() and len(m.group(0)) >= 4
             and m.group(0) not in _QUESTION_WORDS and m.group(0) not in _EN_FRAME]
    if _HANGUL.search(question):
        words += _korean_proper_nouns(question)
    return words


# Words that frame an English question about notes rather than name its topic (general patterns).
_EN_FRAME = frozenset("course notes chapter section sections mention mentioned mentions talk talks talked "
                      "say says said come comes sense kind kinds thing things cover covers covered "
                      "about into than then them they there their these those this that with from your".split())


def _rare_gap(word: str, vocab: NotesVocabulary, rare_zipf: float) -> bool:
    """The notes never use ``word`` (in any form) and everyday language rarely does: a topic they lack."""
    korean = bool(_HANGUL.search(word))
    if korean:
        if _knows_korean(word, vocab):
            return False
    elif vocab.knows_latin(word):
        return False
    # a word missing from the everyday list too (Zipf 0: a loanword, a rare typo) counts as rare; without
    # wordfreq nothing does
    zipf = _zipf(word, "ko" if korean else "en")
    return zipf is not None and zipf < rare_zipf


def _knows_korean(word: str, vocab: NotesVocabulary) -> bool:
    """The notes use this Korean word, maybe with a particle Kiwi left on it ("프로비저닝은") or one
    syllable misspelt ("데이타")."""
    from .text.tokenize import strip_particle

    if word in vocab.korean or strip_particle(word) in vocab.korean or _korean_typo_of_known(word, vocab):
        return True
    # "씨피유", "엘엘엠가": a notes acronym spelled out in Hangul letter names
    if any(_latin_key(a) in vocab.latin for w in (word, strip_particle(word)) for a in spelled_acronyms(w)):
        return True
    # "제너레이티브", "퍼포먼스", "카탈로그": a notes term written in Hangul letters
    return any(vocab.loanwords().latin_words(w) for w in (word, strip_particle(word)))


def _in_known_word(noun: str, question: str, vocab: NotesVocabulary) -> bool:
    """The noun is a piece Kiwi cut from a longer word the notes know ("플로" of "워크플로를" = 워크플로우)."""
    for run in re.findall(r"[\uac00-\ud7a3]+", question):
        if noun in run and run != noun and _knows_korean(run, vocab):
            return True
    return False


def _korean_typo_of_known(word: str, vocab: NotesVocabulary) -> bool:
    """"데이타" for "데이터", "아키텍쳐" for "아키텍처": one syllable off a notes word of the same length;
    "워크플로" for "워크플로우": one syllable more or less than a notes word of three or more."""
    if len(word) < 3:
        return False
    for known in vocab.korean:
        if _one_syllable_off(word, known):
            return True
        if abs(len(known) - len(word)) == 1 and min(len(known), len(word)) >= 3:
            longer, shorter = (known, word) if len(known) > len(word) else (word, known)
            if any(longer[:i] + longer[i + 1:] == shorter for i in range(len(longer))):
                return True
    return False


def _one_syllable_off(word: str, known: str) -> bool:
    """Same length, one syllable different: "데이타" / "데이터", "트렌스포머" / "트랜스포머"."""
    return len(known) == len(word) and sum(a != b for a, b in zip(known, word)) == 1


@lru_cache(maxsize=2)
def _frequencies(language: str) -> dict:
    try:
        from wordfreq import get_frequency_dict
        return get_frequency_dict(language)
    except Exception:   # without wordfreq: no word is "everyday" or "rare"; the dictionary and notes still decide
        return {}


def _zipf(word: str, language: str) -> float | None:
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
def _english_words() -> frozenset:
    try:
        from english_words import get_english_words_set
    except ImportError:   # without the word list only name-shaped words are checked
        return frozenset()
    return frozenset(get_english_words_set(["gcide", "web2"], lower=True, alpha=True))


# Zipf 3 = once per million words: "apps", "smartphone"; product names ("kubectl", "nvlink") are far rarer.
# Set by hand, not fitted.
EVERYDAY_ZIPF = 3.0


def _not_english(word: str, vocab: NotesVocabulary) -> bool:
    """A lower-case Latin word that is neither English nor in the notes, in any inflection or compound."""
    words = _english_words()
    if len(word) < 4 or not word.isalpha() or not words:
        return False
    # an everyday word of today's English ("apps", "online") that the old dictionaries lack is English too
    known = lambda w: w in words or _latin_key(w) in vocab.latin or (_zipf(w, "en") or 0.0) >= EVERYDAY_ZIPF  # noqa: E731

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


def _inside_latin(text: str, start: int) -> bool:
    return start > 0 and text[start - 1].isalpha() and text[start - 1].isascii()


_SHOUTED = frozenset("all any the you not say now your our this that and for are was has have had its one two "
                     "new old big top per via yes out off own".split())


# Everyday abbreviations that name no product: "SW 스택" is the software stack the notes describe.
_EVERYDAY_ABBREVIATIONS = frozenset("sw hw os pc it db ui ux qa faq etc eg ie vs ok tv id pdf app apps".split())


def _name_like(word: str, text: str, start: int, korean: bool) -> bool:
    """A product, standard or acronym: digits, capitals inside, all caps, or capitalised mid-sentence."""
    if len(word) < 2 or word.lower() in _QUESTION_WORDS or word.lower() in _EVERYDAY_ABBREVIATIONS:
        return False
    if word.isupper() and re.search(r"(?:nvidia|엔비디아)\s*$", text[:start], re.IGNORECASE):
        return True   # "NVIDIA DRIVE": a product line, however English its name
    if word.isupper() and (word.lower() in _SHOUTED or len(word) >= 4 and word.lower() in _english_words()):
        return False   # "IGNORE ALL PREVIOUS INSTRUCTIONS": shouted English, not acronyms (PUE, DPU, AMD)
    if any(c.isdigit() for c in word) or any(c.isupper() for c in word[1:]):
        return True
    if not word[0].isupper():
        return False
    if korean:
        return True   # Korean has no capitalised sentence starts: a capitalised Latin word is a name
    before = text[:start].rstrip()
    return bool(before) and before[-1] not in ".?!:\"'(“"


# Nouns that frame a Korean question rather than name its topic ("차이를 비교해 설명해줘"): never a gap.
# The first lines were written from general Korean question patterns, not from any gold item; the last two were
# added after reading dev false refusals ("얘기", "계기", "중간고사": gold_dev v2/v3; "대비", "기말", "마지막",
# "원래", "덕분": v5; "언급", "번호": v6/v7, with "표현", "목록", "나열", "장별"; "영어", "열": v10, with the notes'
# other languages and the parts of a table) and widened to their kind: talk about the talk, the course and the
# student's studies, and nouns that work like adverbs or quantifiers in a sentence.
_KO_FRAME_NOUNS = frozenset("""
    비교 설명 이유 차이 차이점 방법 역할 종류 특징 장점 단점 강점 약점 예시 예 정의 의미 목적 과정 단계 원리 구성 기능 개념
    용도 어려움 문제 문제점 내용 부분 관계 영향 효과 이점 사례 분야 요소 요약 정리 질문 답 대답 뜻 점 것들 무엇 뭐 언제
    어디 누구 정도 경우 때문 전체 각각 하나 둘 세 네 가지 관련 대해 대한 통해 위해 기준 측면 면 입장 이해 설명해 알려
    핵심 주요 중요 필요 가능 유리 불리 사용 활용 적용 도입 변화 발전 현재 앞 뒤 위 아래 다음 이전 최근 노트 강의 과정 과목
    챕터 단원 절 섹션 장 주제 시험 공부 복습
    얘기 이야기 맥락 계기 이름 옛날 요즘 예전 처음 나중 한줄 한마디 정답 용어 단어 개념 수업 교수 숙제 과제 중간고사
    기말고사 퀴즈 기억 생각 느낌 말씀 부탁 궁금 확인 전부 다른 같은 쪽 편 거 건 데 때 곳 번 개 가지
    주소 링크 사이트 웹사이트 홈페이지
    대비 기말 중간 준비 요점 암기 마지막 원래 나머지 도움 덕분 대신 자체 일부 대부분 서로 모두 여러 이상 이하
    언급 표현 번호 목록 나열 장별
    영어 한국어 한글 영문 국문 표 열 행 칸
    """.split())


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
            if t.tag in tags and len(t.form) >= 2 and _HANGUL.search(t.form) and t.form not in _KO_FRAME_NOUNS]


# A slot cue that is one word the notes themselves use in this many sections is the course's subject, not a request
# for a kind of content: "price" in economics notes ("cross price elasticity"), not in notes that never price anything.
SUBJECT_WORD_SECTIONS = 3


def asked_slots(question: str, vocab: "NotesVocabulary | None" = None) -> list[str]:
    slots = []
    for name, (asks, _) in _SLOTS.items():
        cues = [m.group(0) for m in asks.finditer(question)]
        if cues and vocab is not None and all(_subject_word(cue, vocab) for cue in cues):
            continue
        if cues:
            slots.append(name)
    return slots


def _subject_word(cue: str, vocab: "NotesVocabulary") -> bool:
    # only a bare word ("price", "prices", "가격"): "몇 단계", "단계별로" and "how much does it cost" ask for content
    tokens = tokenize(cue)
    bare = cue.strip().lower()
    return (len(tokens) == 1 and bare in (tokens[0], tokens[0] + "s", tokens[0] + "es")
            and vocab.section_count.get(tokens[0], 0) >= SUBJECT_WORD_SECTIONS)


_COUNTED = re.compile(r"\bhow many ([a-z]+)", re.IGNORECASE)
# "코어 몇개", "CPU가 몇 개", "프레임워크 몇개": the noun before 몇 with a counter word; "몇 단계": the counter is the noun
_COUNTED_KO = re.compile(r"([가-힣A-Za-z0-9]+?)(?:이|가|은|는|을|를|도|의)?\s*몇\s*(?:개|명|대|장)(?!만)")
_COUNTER_NOUN_KO = re.compile(r"몇\s*(단계|층|세대)")
_NUMBER_WORDS = re.compile(r"\d|\b(?:two|three|four|five|six|seven|eight|nine|ten|dozens?|hundreds?|a few|several|"
                           r"many)\b|[두세네]\s*(?:가지|개|단계)", re.IGNORECASE)
# "순수하게 몇 개", "최종적으로 몇개": the word before 몇 is an adverb, not the thing counted
_KO_ADVERB_END = re.compile(r"(?:게|히|적으로|으로|로|도)$")


def counted_noun(question: str) -> str:
    """The thing a "how many" question counts ("cores", "코어", "단계"), or "" when it counts nothing named
    ("몇 가지만 알려줘" asks for a few items, not a number)."""
    english = _COUNTED.search(question)
    if english and english.group(1).lower() not in ("of", "times", "more", "other", "examples", "instances"):
        return english.group(1)
    counter = _COUNTER_NOUN_KO.search(question)
    if counter:
        return counter.group(1)
    korean = _COUNTED_KO.search(question)
    if korean and _HANGUL.search(korean.group(1)) or korean and len(korean.group(1)) >= 2:
        from .text.tokenize import strip_particle
        noun = strip_particle(korean.group(1))
        # "예시 몇 개 들어서 설명해줘": a few examples, asked for as illustration, not a number to look up
        return "" if noun in _ILLUSTRATIONS or (_HANGUL.search(noun) and _KO_ADVERB_END.search(noun)) else noun
    return ""


_ILLUSTRATIONS = frozenset("예 예시 예제 사례 보기 example examples instance instances".split())


def _names(text: str, noun: str) -> bool:
    """``text`` names ``noun``: the same Latin word up to its ending ("cores" / "core"), or the Korean word in it."""
    if _HANGUL.search(noun):
        return noun in text
    return _latin_key(noun) in {_latin_key(w) for w in _LATIN.findall(text)}


def slot_filled(slot: str, lines_text: str, question: str = "", titles: str = "",
                vocab: "NotesVocabulary | None" = None) -> bool:
    """Whether the lines hold what the slot asks for. ``titles``: the evidence sections' titles, one per line;
    ``vocab``: the notes' vocabulary (a counted noun in a language the notes are not written in can't be matched)."""
    if slot == "person" and any(_names_a_person(line) and _shares_topic(line, question)
                                for line in lines_text.splitlines()):
        return True   # "Who came up with comparative advantage?" where the line on it names David Ricardo
    if slot == "count" and vocab is not None and not vocab.writes(_language_of(counted_noun(question))):
        slot = "number"   # "how many chromosomes" on Korean-only notes: their number can't be matched by the word
    if slot == "count":
        # a number answers "how many X?" only when it counts X ("50개 이상의 프레임워크", "The 4 stages"), and a
        # list only when it lists X (a section titled "Benefits of GPU virtualization" answers "how many
        # benefits?"): "How many cores does a GPU have?" is not answered by 4.3's list of components that
        # names cores, nor by whatever other number retrieval found
        noun = counted_noun(question)
        if noun:
            lines = lines_text.splitlines()
            return (any(_names(line, noun) and _NUMBER_WORDS.search(line) for line in lines)
                    or any(_introduces_list(line, noun, more_lines=index + 1 < len(lines))
                           for index, line in enumerate(lines))
                    or (len(lines) >= 2 and any(_names(head, noun) for head in _title_heads(titles))))
    if slot == "number":
        # "몇 kg", "몇 배", "latency in milliseconds": a number in that unit answers it, not the notes' "50개" or
        # "1970년대" that retrieval happened to bring along
        unit = asked_unit(question)
        if unit:
            return bool(re.search(r"\d[\d.,]*\s*(?:" + re.escape(unit) + ")", lines_text, re.IGNORECASE))
    return bool(_SLOTS[slot][1].search(lines_text))


_PERSON_LATIN = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z]\.)?\s+[A-Z][a-z]{2,}\b(?!\s+(?:of|and)\b)")


def _names_a_person(text: str) -> bool:
    """A person's name in the lines: two capitalised Latin words ("David Ricardo", "John Maynard Keynes"), or one
    that no dictionary has beside a year ("Gutenberg ... 1450"), or a Korean proper noun beside a year ("1953년
    왓슨과 크릭", "로버트 훅 (1665)")."""
    if _PERSON_LATIN.search(text):
        return True
    # "Gutenberg built it around 1450": one capitalised word inside a dated line that no dictionary has (a product
    # name is rarely dated: "GPU라는 이름은 누가 처음 붙였어?" is not answered by a line naming NVIDIA's products)
    words = _english_words()
    if words and _SLOTS["year"][1].search(text) and any(m.start() > 0 and m.group(0).lower() not in words and len(m.group(0)) >= 4
                     and text[:m.start()].rstrip()[-1:] not in ".?!:" for m in re.finditer(r"\b[A-Z][a-z]+\b", text)):
        return True
    if not (_HANGUL.search(text) and _SLOTS["year"][1].search(text)):
        return False
    try:
        from .text.tokenize import get_kiwi
        return any(t.tag == "NNP" and _HANGUL.search(t.form) for t in get_kiwi().tokenize(text))
    except Exception:   # no Kiwi: only Latin names are seen
        return False


# What a "who did it" question asks besides its topic: sharing only these with a line says nothing about the topic.
_DEED_WORDS = frozenset("발견 발명 제안 개발 처음 최초 사람 누구 학자 과학자 discover discovered invent invented propose "
                        "proposed develop developed create created coin coined found founded publish published write "
                        "wrote first who person scientist come came".split())


def _shares_topic(line: str, question: str) -> bool:
    """The line and the question share a content word other than the deed asked about ("골지체는 누가 처음
    발견했어?" shares only 발견 with "1665년 훅이 세포를 발견": another discovery)."""
    shared = set(tokenize(line)) & set(tokenize(question))
    return any(len(t) >= 2 and t not in _DEED_WORDS and t.lower() not in _QUESTION_WORDS and t not in _KO_FRAME_NOUNS
               for t in shared)


def _language_of(word: str) -> str:
    return "ko" if _HANGUL.search(word) else "en"


_UNIT_AFTER_MYEOT = re.compile(r"몇\s*(배|퍼센트|%|기가|GB|와트|테라|TB|TFLOPS|페타|PB|메가|밀리|킬로|조|억|[A-Za-z]{1,5}\b)",
                               re.IGNORECASE)
_UNIT_IN = re.compile(r"\bin ((?:milli|micro|nano)?seconds?|ms|gb|tb|pb|mb|gbps|tbps|watts?|kw|mw|ghz|mhz|percent|flops|"
                      r"tflops|(?:kilo|mega|giga|tera|peta)(?:bytes?|watts?|hertz))\b", re.IGNORECASE)


def asked_unit(question: str) -> str:
    """The unit a number question names ("몇 kg" -> "kg", "in milliseconds" -> "milliseconds"), or ""."""
    match = _UNIT_AFTER_MYEOT.search(question) or _UNIT_IN.search(question)
    return match.group(1) if match else ""


def _introduces_list(line: str, noun: str, more_lines: bool) -> bool:
    """The line opens a list of ``noun``: "stages:" before further lines, "Challenges : a, b, c"."""
    head, colon, rest = line.partition(":")
    if not colon or not _names(head, noun) or _SLOTS["url"][1].search(rest):   # "NGC Catalog : https://..." is a link
        return False
    return (not rest.strip() and more_lines) or len(re.split(r"\s*[>,/]\s*", rest.strip())) >= 2


def _title_heads(titles: str) -> list[str]:
    """The word each title is about: the last word of a Korean title ("GPU 가상화의 이점"), an English title's
    word before "of" or its first or last word ("Benefits of GPU Virtualization", "Key Challenges Enterprises
    Face...", "GPU Architecture Components"); not a modifier ("GPU" of "What Is a GPU Server System")."""
    heads = []
    for title in titles.splitlines():
        title = re.sub(r"\([^)]*\)", " ", title).strip()
        words = title.split()
        if not words:
            continue
        if _HANGUL.search(title):
            heads.append(re.sub(r"(?:이란|란|의)$", "", words[-1]))
            continue
        before_of = re.search(r"(\w+) of\b", title)
        heads += [before_of.group(1)] if before_of else []
        content = [w for w in words if w.lower() not in ("key", "main", "the", "a", "an")]
        heads += [words[-1]] + content[:1]
    return heads


def slot_name(slot: str, language: str) -> str:
    return _SLOT_NAMES[slot].get(language, _SLOT_NAMES[slot]["en"])


_QUOTED = re.compile(r"['\"‘’“”「」『』]([^'\"‘’“”「」『』]{2,80})['\"‘’“”「」『』]")
# A notes token counts as rare when few sections use it: it names a topic, not the course's everyday words.
ANCHOR_MAX_SECTIONS = 3


def anchored(question: str, evidence_text: str, vocab: "NotesVocabulary") -> str:
    """"quote" when the question quotes the notes, "rare_term" when it names a rare notes term that the evidence
    lines hold, else "" (falsy)."""
    lowered = evidence_text.lower()
    for quote in _QUOTED.findall(question):
        # a quoted Korean word of two syllables ('배포') is as specific as four Latin letters
        if len(quote.strip()) < (2 if _HANGUL.search(quote) else 4):
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
    return token in _LOCATE_FRAME or token in _MENTION_FRAME or token.lower() in _QUESTION_WORDS


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
    return any(_SLOTS["url"][1].search(line) and asked & set(tokenize(_SLOTS["url"][1].split(line)[0]))
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
    if _HANGUL.search(token) and len(token) >= 3:
        return next((known for known in vocab.section_count if _one_syllable_off(token, known)), "")
    return ""


_REFERS_BACK = re.compile(r"\b(?:it|its|this|that|them|they|their|there)\b|그것|그거|이것|이거|거기|그걸|여기서", re.IGNORECASE)


def split_parts(question: str) -> list[str]:
    parts = [p.strip(" ,.?!") for p in _PARTS.split(question)]
    return [p for p in parts if p and tokenize(p)]


WEAK_EVIDENCE = "weak retrieval evidence"


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
           line_cosine: float = 0.0, evidence_titles: str = "") -> Coverage:
    """The three-way decision. ``evidence_text``: the lines an answer would use, one per line;
    ``line_cosine``: the question's cosine with its closest line of the notes (0 when unknown);
    ``evidence_titles``: the titles of the sections those lines come from, one per line.

    ``named_in_notes``: the question names a chapter or section of the notes (``rag.structure``), so weak
    retrieval evidence is no reason to refuse it; what it asks beyond that is still checked."""
    rules = rules or DEFAULT_RULES
    coverage = Coverage(ANSWER, evidence_score=evidence_score)
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
