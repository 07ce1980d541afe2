"""The asked-for slot of a question (a number, a year, a person, steps, a price, ...) and whether evidence lines
fill it: a question asking for a kind of content is answered only when the lines hold that kind of content.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .text.question_words import HANGUL, KO_FRAME_NOUNS, LATIN_WORD, QUESTION_WORDS
from .text.tokenize import tokenize
from .vocabulary import english_words, latin_key

if TYPE_CHECKING:
    from .vocabulary import NotesVocabulary

# Korean counter words and number endings after 몇 ("몇 개", "몇 년도", "몇이야"): what they ask is read by the
# count, year and duration slots, not as a unit noun of its own.
_KO_COUNTERS = (r"(?:개|가지|단계|종류|명|대|장|번|년|월|일|시|분|초|살|배|층|세대|조|억|만|천|백|이|인|주|권|차|회|등|위|"
                r"퍼센트|기가|메가|테라|페타|킬로|밀리|와트)")


# Korean counters of one kind of thing (volumes, ships, animals, buildings, places, works, trees, ...): "몇 권이야?"
# is answered by "N권", not by a list or another number on the same line.
_KO_KIND = "권|척|마리|채|곳|편|벌|그루|송이|자루|켤레"
# ... as a counter: the question ends there or a particle follows ("몇 권이야?", "몇 척을"), not a word ("권리")
_KO_KIND_COUNTERS = r"(?:" + _KO_KIND + r")(?=$|[\s?.!,~]|이|은|는|을|를|가|나|도|씩|쯤|정도|째|만)"


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
                          r"|몇\s*(?:[A-Za-z]{1,5}\b|조|억|천만|백만)"
                          # "초당 몇 뉴클레오타이드", "몇 톤": 몇 before a unit noun that is no counter word
                          r"|몇\s*(?!" + _KO_COUNTERS + r")[가-힣]{2,}"
                          # "몇 권", "몇 척": a counter of one kind of thing, answered by a number of that kind
                          r"|몇\s*" + _KO_KIND_COUNTERS +
                          # "what's the failure rate", "how high did unemployment get", "how old": a quantity
                          r"|\bwhat(?:'s|’s| is| was| are| were) the [\w -]{0,40}?\brates?\b"
                          r"|\bhow (?:high|heavy|tall|old|hot|cold)\b",
                          re.IGNORECASE),
               # a year is no amount ("How high did unemployment get?" is not answered by "in 1936")
               re.compile(r"(?!(?:1[5-9]|20)\d\d(?![\d%]|[.,]\d))(?<![\d.,])\d")),
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
                         r"가격|요금|구독료|라이선스 ?비|얼마나 ?해|"
                         # (a bare "얼마야" asks any amount: "pH는 대략 얼마야?"; the number slot has it)
                         # which costs less: the notes give no prices to compare ("is renting cheaper than buying?")
                         r"\bcheap(?:er|est)?\b|\bmore expensive\b|\bcosts? less\b|저렴|더 ?싸|(?:제일|가장) ?싼|싸게",
                         re.IGNORECASE),
              re.compile(r"[$€£₩]\s*\d|\d\s*(?:달러|원|dollars?|usd|krw)", re.IGNORECASE)),
    "duration": (re.compile(r"\bhow long\b|\bhow many (?:seconds|minutes|hours|days|weeks|months|years)\b|얼마나 걸|기간|소요 ?시간|"
                            # "한 바퀴 도는 데 몇 년 걸려?", "몇 시간 동안": a span of time, not a year ("몇 년에")
                            r"몇\s*(?:십|백|천|만|억)?\s*(?:년|개월|달|주|일|시간|분|초)\s*(?:이나|정도|쯤|씩)?\s*(?:걸|동안|지속|소요|만에)",
                            re.IGNORECASE),
                 # (not "1분자", one molecule, nor "2분열", "3분의 1")
                 # (not a year: "1937년 크렙스가 밝혔다" is no span of time)
                 re.compile(r"(?<![\d.,])(?!(?:1[5-9]|20)\d\d\s*년)\d+\s*(?:초(?![과기])|분(?![자열의해석류])|시간|일(?![부반])|주(?![기요])|개월|년|seconds?|"
                            r"minutes?|hours?|days?|weeks?|months?|years?)", re.IGNORECASE)),
    # ("the latest version of Git" asks for one even in notes on version control, where "version" is their subject)
    "version": (re.compile(r"\b(?:latest|newest|current|recent|which|what|stable) versions?\b|\bversions?\b|\bwhich release\b|\b(?:latest|newest|current) release\b|버전|릴리스",
                           re.IGNORECASE),
                re.compile(r"\bv?\d+\.\d+|버전\s*\d|version\s*\d", re.IGNORECASE)),
    # who invented / coined / founded something: answered only by a line that names a person on that topic
    "person": (re.compile(r"\bwho (?:first|originally|coined|invented|founded|created|came up|developed|built|"
                          r"designed|discovered|proposed)\b|"
                          r"누가 ?(?:처음|만들|발명|창시|개발|설계|디자인|고안|발견)|창시자|발명자|만든 ?사람|창업자|"
                          # "로고 디자인한 사람 누구임?": who did a deed, in any verb
                          r"[가-힣]+한 ?사람(?:이|은)? ?누구", re.IGNORECASE),
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
    # which of two is more so: answered only by a line that itself compares ("than", "보다", "more", "가장"), never
    # by two lines that each describe one side ("Is monopoly or oligopoly worse for consumers?")
    "comparative": (re.compile(r"\b(?:which|what|who)\b[^?]{0,60}\b(?:more|less|better|worse|faster|slower|higher|"
                               r"lower|bigger|larger|smaller|cheaper|stronger|weaker)\b[^?]{0,60}\bor\b|"
                               # "Is A or B worse?", "Does A or B do more?" (not "Does it treat X as a minor upgrade
                               # or as something bigger?", which asks how the notes see one thing)
                               r"^\s*(?:is|are|was|were)\b[^?]{1,40}\bor\b[^?]{1,40}?\b(?:more|less|better|worse|"
                               r"faster|slower|higher|lower|bigger|larger|smaller|cheaper|[a-z]{2,}er(?= *(?:\?|$|for|to|in|at|on)))\b|"
                               r"\b(?:does|do|did)\b[^?]{1,40}\bor\b[^?]{1,40}?\b(?:do|does|did) (?:more|less|better|"
                               r"worse)\b|"
                               # "is git faster than mercurial?"
                               r"^\s*(?:is|are|was|were|does|do|did)\b[^?]{1,40}\b(?:more \w+|less \w+|better|worse|"
                               r"[a-z]{2,}er) than\b|"
                               r"(?:중(?:에서?)?|이랑|랑|하고|와|과) ?[^?.]{0,20}?(?:어느|어떤|뭐|무엇|어디|누가)[^?.]{0,10}?더 |"
                               r"(?:어느|어떤) ?(?:쪽|것|게)[이가]? ?더|"
                               # "목성이랑 토성 중에 위성이 더 많은 행성은?", "does sugar or salt dissolve faster?"
                               r"(?:이랑|랑|하고|와|과)\s+[^\s?]+?\s*(?:중에서|중에|중)\s[^?.]{0,30}?더\s|"
                               r"^\s*(?:does|do|did)\b[^?]{1,40}\bor\b[^?]{1,40}?\b(?:faster|slower|better|worse|more|less|"
                               r"higher|lower|bigger|smaller|stronger|weaker|longer|shorter|earlier|later)\b", re.IGNORECASE),
                    re.compile(r"\bthan\b|\bmore\b|\bless\b|\bmost\b|\bleast\b|\b\w+er than\b|\bunlike\b|"
                               r"\bwhereas\b|\bbetter\b|\bworse\b|\bfaster\b|\bslower\b|\bhigher\b|\blower\b|"
                               r"보다|더 |가장|제일|비해|반면|달리|유리|불리|우수|높|낮|빠르|느리", re.IGNORECASE)),
    # a value as of now ("what's the inflation rate right now?", "요즘 캐시는 보통 몇 메가"): notes are a fixed text
    # and give one only where they say it holds now; asked only beside a value slot (``_VALUE_SLOTS``)
    "current": (re.compile(r"\bright now\b|\bcurrent(?:ly)?\b|\bat the moment\b|\bthese days\b|\bnowadays\b|"
                           r"\bas of (?:today|now)\b|\btoday(?:'s|’s)?\b|\bthis year(?:'s|’s)?\b|지금|현재|요즘|올해|"
                           r"오늘날", re.IGNORECASE),
                re.compile(r"\bcurrent(?:ly)?\b|\bright now\b|\btoday\b|\bas of\b|\bthese days\b|현재|지금|요즘|오늘날|"
                           r"올해", re.IGNORECASE)),
    "url": (re.compile(r"\burl\b|\b(?:the|a|any|its|web) link\b|\blinks? (?:to|for)\b|\bwebsite\b|\bweb address\b|\bweb ?page\b|\bhomepage\b|링크|주소|웹사이트|홈페이지", re.IGNORECASE),
            re.compile(r"https?://|www\.", re.IGNORECASE)),
}


# What each slot is called in a message to the student: rag/prompts/messages.json ("slot_<name>").


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
    if asks_state_now(question):
        slots += [] if "current" in slots else ["current"]
    elif "current" in slots and not set(slots) & _VALUE_SLOTS:
        slots.remove("current")   # "요즘 AI가 바꾸는 산업": now, but no value asked
    return slots


# "지금 엘니뇨 진행 중이야?", "Is there an earthquake going on right now?", "119번 원소는 이제 발견됐어?": a yes-or-no
# question about the present, which notes answer only where they say what holds now. Not "요즘" / "these days",
# which ask what is typical ("요즘 AI가 바꾸는 산업"), nor a question word or a request ("지금 GPU 종류 알려줘").
_NOW = re.compile(r"\bright now\b|\bat the moment\b|\bcurrently\b|지금|이제|현재", re.IGNORECASE)
_YES_NO_EN = re.compile(r"^\s*(?:is|are|was|were|does|do|did|has|have|can|will)\b", re.IGNORECASE)
# a Korean yes-or-no question ends in a verb ending ("진행 중이야?", "발견됐어?"), not in a topic ("차이점은?")
_YES_NO_KO = re.compile(r"(?:야|어|니|나요|까|까요|지|죠|냐|나|어요|아요|에요|예요|해요|음|임)\s*[?？]*\s*$")
_ASKS_WHAT = re.compile(r"\b(?:what|which|who|whom|whose|when|where|why|how)\b|뭐|무엇|무슨|어떤|어떻|어느|누구|누가|언제|"
                        r"어디|왜|몇|얼마|\b(?:tell|explain|list|describe|show|summari[sz]e)\b|알려|설명|정리|말해|보여",
                        re.IGNORECASE)


def asks_state_now(question: str) -> bool:
    if not _NOW.search(question) or _ASKS_WHAT.search(question):
        return False
    return bool(_YES_NO_KO.search(question) if HANGUL.search(question) else _YES_NO_EN.match(question))


# The slots that ask for a value a date can make stale.
_VALUE_SLOTS = frozenset({"number", "count", "price", "year", "person", "version", "ranking", "duration"})


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
    if korean and HANGUL.search(korean.group(1)) or korean and len(korean.group(1)) >= 2:
        from .text.tokenize import strip_particle
        noun = strip_particle(korean.group(1))
        # "예시 몇 개 들어서 설명해줘": a few examples, asked for as illustration, not a number to look up
        return "" if noun in _ILLUSTRATIONS or (HANGUL.search(noun) and _KO_ADVERB_END.search(noun)) else noun
    return ""


_ILLUSTRATIONS = frozenset("예 예시 예제 사례 보기 example examples instance instances".split())


def _names(text: str, noun: str) -> bool:
    """``text`` names ``noun``: the same Latin word up to its ending ("cores" / "core"), or the Korean word in it."""
    if HANGUL.search(noun):
        return noun in text
    return latin_key(noun) in {latin_key(w) for w in LATIN_WORD.findall(text)}


def slot_filled(slot: str, lines_text: str, question: str = "", titles: str = "",
                vocab: "NotesVocabulary | None" = None) -> bool:
    """Whether the lines hold what the slot asks for. ``titles``: the evidence sections' titles, one per line;
    ``vocab``: the notes' vocabulary (a counted noun in a language the notes are not written in can't be matched)."""
    same_language = vocab is None or vocab.writes(_language_of(question))
    # the deed's words are in both languages, so it is asked across languages too (on the three courses no one had
    # read: 3 more near misses refused, no covered question; on the other seven +2, and one wrong answer refused)
    deed = asked_deed(question)
    if slot == "person" and any(_names_a_person(line) and (_shares_topic(line, question) if same_language
                                                           else about_question(line, question, vocab))
                                and (deed is None or deed.search(line))
                                for line in lines_text.splitlines()):
        return True   # "Who came up with comparative advantage?" where the line on it names David Ricardo
    if slot == "person" and deed is not None:
        return False   # "해례본은 누가 발견했어?": not filled by "발명품: 측우기 ... (세종)", another deed on another line
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
        unit_written = unit and (vocab is None or vocab.writes(_language_of(unit)))   # in the notes' language
        # a Korean unit is also looked for as letters or a symbol ("몇 퍼센트" -> "%", "몇 리터" -> "22.4 L", "몇 도"
        # -> "104.5°"): English notes write it no other way, Korean notes often so. A Korean unit with no such form on
        # English notes can't be matched ("몇 자리" on notes that say "40 hex characters") and binds nothing
        symbol = _KO_UNITS_IN_ENGLISH.get(unit) if unit and (unit_written or vocab.writes("en")) else None
        if unit_written and _in_unit(re.escape(unit), lines_text, letters_may_follow=True):
            return True
        if symbol or unit_written:
            return bool(symbol) and _in_unit(symbol, lines_text, letters_may_follow=False)
    sides = compared_sides(question) if slot == "comparative" and same_language else None
    if sides:
        # "Is monopoly or oligopoly worse for consumers?", "목성이랑 토성 중에 위성이 더 많은 건?": a line that itself
        # compares the two, naming both, not a line on one of them that happens to say "more" or "높은"
        return any(_SLOTS[slot][1].search(line) and all(side & set(tokenize(line)) for side in sides)
                   for line in lines_text.splitlines())
    if slot in TOPIC_BOUND and question:
        # "How many seconds does one turn of the Krebs cycle take?" is not answered by "1958년" on DNA replication
        # that retrieval brought along: the number must stand in a line about what the question asks about
        # (the question's topic words once; without the notes' vocabulary each line says its own language)
        topic = topic_words(question, vocab) if vocab is not None else None
        return any(_SLOTS[slot][1].search(line) and (about_question(line, question) if topic is None
                                                     else not topic or bool(topic & set(tokenize(line))))
                   for line in lines_text.splitlines())
    return bool(_SLOTS[slot][1].search(lines_text))


# The two things a "which of the two is more so" question names: "A랑 B 중에", "is A or B worse", "which is faster, A or B"
_SIDES = (re.compile(r"([^\s,?]+?)(?:이랑|랑|하고|와|과)\s+([^\s,?]+?)\s*(?:중에서|중에|중|둘 ?중)"),
          re.compile(r"\b(?:is|are|was|were|does|do|did)\s+(?:an?\s+|the\s+)?([\w'-]+(?:\s+[\w'-]+)?)\s+or\s+(?:an?\s+|the\s+)?"
                     r"([\w'-]+(?:\s+[\w'-]+)?)\s+(?:more|less|better|worse|[a-z]{2,}er)\b", re.IGNORECASE),
          re.compile(r"\bwhich\b[^?]{0,40}?,\s*(?:an?\s+|the\s+)?([\w'-]+(?:\s+[\w'-]+)?)\s+or\s+(?:an?\s+|the\s+)?"
                     r"([\w'-]+(?:\s+[\w'-]+)?)\s*\??\s*$", re.IGNORECASE))


def compared_sides(question: str) -> "list[set[str]] | None":
    """The content words of each of the two things compared, or None when the question names no such pair."""
    for pattern in _SIDES:
        match = pattern.search(question)
        if match:
            # each side by its first content word ("granite cool faster": granite, not the verb after it)
            words = [[t for t in tokenize(side) if len(t) >= 2 and t.lower() not in QUESTION_WORDS][:1]
                     for side in match.groups()]
            if all(words) and words[0] != words[1]:
                return [set(w) for w in words]
    return None


# Slots whose content means nothing apart from what it is about: a number or an amount of time (what it measures),
# a comparison (what it compares), steps or a command (what they do).
TOPIC_BOUND = frozenset({"number", "duration", "comparative", "steps"})


# A word in at least this share of the notes' sections is the course's subject, not what one line is about.
SUBJECT_SHARE = 0.5


# Words that ask for a quantity rather than name what is measured ("how many", "개수", "얼마나").
_MEASURE_WORDS = frozenset("many much number numbers amount total typical typically roughly about approximately "
                           "long time fast high big large small take takes 몇 개수 갯수 수 얼마 얼마나 숫자 수치 보통 "
                           "대략 약 평균 총 전체 걸리 걸려 시간 속도 빠르".split())


def about_question(line: str, question: str, vocab: "NotesVocabulary | None" = None) -> bool:
    """The line is about something the question names: a content word of the question in the line (any
    particle or ending removed). A question naming nothing the line could share (only frame words, or only words
    of a language the notes are not written in) binds nothing: True."""
    topic = topic_words(question, vocab, line)
    return not topic or bool(topic & set(tokenize(line)))


def topic_words(question: str, vocab: "NotesVocabulary | None" = None, line: str = "") -> set[str]:
    """The question's words a line about its topic would share (``about_question``); ``line`` only says the
    notes' language when there is no ``vocab``."""
    topic = {t for t in tokenize(question) if len(t) >= 2 and t.lower() not in QUESTION_WORDS
             and t not in KO_FRAME_NOUNS and t.lower() not in _MEASURE_WORDS and not t.isdigit()}
    if vocab is not None and vocab.sections >= 2:
        # the course's subject ("git" in notes on Git, "세포" in cell biology) is in most sections: no sign of topic
        topic = {t for t in topic if vocab.section_count.get(t, 0) < SUBJECT_SHARE * vocab.sections}
    language = _language_of(question)
    if not vocab.writes(language) if vocab is not None else _language_of(line) != language:
        # a question in a language the notes are not written in shares with them only the names and acronyms
        # they also write ("DNA", "Krebs"); an everyday word the notes gloss once ("cell") is no sign of what a
        # line is about, and a Hangul spelling matched by sound alone too loose a one
        topic = {t for t in topic if not HANGUL.search(t) and (vocab is None or vocab.knows_latin(t))
                 and re.search(r"[A-Z]", _original_case(t, question))}
    return topic


_PERSON_LATIN = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z]\.)?\s+[A-Z][a-z]{2,}\b(?!\s+(?:of|and)\b)")


# What a "who did it" question asks was done, and the words a line uses for that deed (either language):
# "거북선을 처음 설계한 사람" is not answered by the line saying who first used the ship, "누가 발견했어?" not by who
# created it.
_DEEDS = [
    (r"설계|디자인|design", r"설계|디자인|고안|design|devis"),
    (r"발견|discover", r"발견|찾아|밝혀|밝힘|밝혔|discover|identif|found that|first (?:saw|observed|described)"),
    (r"발명|invent", r"발명|고안|만들|만든|제작|창제|invent|devis|built|made|creat"),
    (r"창시|창업|설립|found(?:ed|er)\b", r"창시|창업|설립|세우|세운|세웠|창설|건국|found|establish|start"),
    (r"제안|제창|propos", r"제안|제창|주장|propos|suggest|argu|put forward"),
    # "이름은 누가 처음 붙였어?", "who coined / named it": a line saying who named it, not who worked on it
    (r"이름[을은이]?\s*(?:처음\s*)?(?:누가\s*)?(?:처음\s*)?붙|명명|\bcoin|\bwho named\b|\bnamed (?:it|them|this)\b",
     r"이름[을은이]?\s*(?:처음\s*)?붙|명명|이라고\s*(?:불|부르|이름)|\bcoin|\bnamed\b|\bcalled\b|\bterm\b"),
]


def asked_deed(question: str) -> "re.Pattern | None":
    """The words a line must use for the deed a "who did it" question asks ("설계한 사람" -> design words), or
    None when it asks no particular deed ("누가 처음", "who originally")."""
    for asks, says in _DEEDS:
        if re.search(asks, question, re.IGNORECASE):
            return re.compile(says, re.IGNORECASE)
    return None


def _names_a_person(text: str) -> bool:
    """A person's name in the lines: two capitalised Latin words ("David Ricardo", "John Maynard Keynes"), or one
    that no dictionary has beside a year ("Gutenberg ... 1450"), or a Korean proper noun beside a year ("1953년
    왓슨과 크릭", "로버트 훅 (1665)")."""
    if _PERSON_LATIN.search(text):
        return True
    # "Gutenberg built it around 1450": one capitalised word inside a dated line that no dictionary has (a product
    # name is rarely dated: "GPU라는 이름은 누가 처음 붙였어?" is not answered by a line naming NVIDIA's products)
    words = english_words()
    if words and _SLOTS["year"][1].search(text) and any(m.start() > 0 and m.group(0).lower() not in words and len(m.group(0)) >= 4
                     and text[:m.start()].rstrip()[-1:] not in ".?!:" for m in re.finditer(r"\b[A-Z][a-z]+\b", text)):
        return True
    if not (HANGUL.search(text) and _SLOTS["year"][1].search(text)):
        return False
    try:
        from .text.tokenize import get_kiwi
        return any(t.tag == "NNP" and HANGUL.search(t.form) for t in get_kiwi().tokenize(text))
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
    return any(len(t) >= 2 and t not in _DEED_WORDS and t.lower() not in QUESTION_WORDS and t not in KO_FRAME_NOUNS
               for t in shared)


def _original_case(token: str, text: str) -> str:
    """``token`` (lower-cased by the tokenizer) as ``text`` writes it."""
    match = re.search(re.escape(token), text, re.IGNORECASE)
    return match.group(0) if match else token


def _language_of(word: str) -> str:
    return "ko" if HANGUL.search(word) else "en"


_UNIT_AFTER_MYEOT = re.compile(r"몇\s*(배|퍼센트|%|기가|GB|와트|테라|TB|TFLOPS|페타|PB|메가|밀리|킬로|조|억|[A-Za-z]{1,5}\b|"
                               + _KO_KIND + ")",
                               re.IGNORECASE)


_UNIT_IN = re.compile(r"\bin ((?:milli|micro|nano)?seconds?|ms|gb|tb|pb|mb|gbps|tbps|watts?|kw|mw|ghz|mhz|percent|flops|"
                      r"tflops|(?:kilo|mega|giga|tera|peta)(?:bytes?|watts?|hertz))\b", re.IGNORECASE)


# Units of measurement as English notes write them, for a Korean question's unit (language data, any course).
_KO_UNITS_IN_ENGLISH = {
    "퍼센트": r"%|percent|per cent", "프로": r"%|percent|per cent",
    "그램": r"[km]?g|(?:kilo|milli)?grams?", "킬로그램": r"kg|kilograms?", "톤": r"t|tonnes?|tons?",
    "미터": r"[kcm]?m|(?:kilo|centi|milli)?met(?:re|er)s?", "센티미터": r"cm|centimet(?:re|er)s?", "센티": r"cm",
    "밀리미터": r"mm|millimet(?:re|er)s?", "킬로미터": r"km|kilomet(?:re|er)s?", "리터": r"l|lit(?:re|er)s?",
    "도": r"°[CF]?|degrees?", "볼트": r"v|volts?", "헤르츠": r"hz|hertz", "칼로리": r"k?cal|calories?", "와트": r"w|watts?",
    "달러": r"dollars?|usd", "바이트": r"b|bytes?", "기가": r"gb|g", "메가": r"mb|m", "배": r"times|x|×|-fold",
}


def _in_unit(unit: str, lines_text: str, letters_may_follow: bool) -> bool:
    """A number in ``unit`` (a pattern) in the lines: "22.4 L", or a table cell under a header naming the unit
    ("녹는점(°C): 801", as a table row reads as an evidence line)."""
    after = "" if letters_may_follow else r"(?![a-z])"
    return bool(re.search(r"\d[\d.,]*\s*(?:" + unit + ")" + after + r"|\((?:" + unit + r")\):\s*[-−]?\d", lines_text,
                          re.IGNORECASE))


_NOUN_AFTER_MYEOT = re.compile(r"몇\s*(?!" + _KO_COUNTERS + r")([가-힣]{2,})")


# What a Korean unit noun carries after it ("몇 뉴클레오타이드야?", "몇 톤이나"): the ending, not the unit.
_KO_UNIT_ENDING = re.compile(r"(?:이에요|예요|인가요|인가|인지|이야|이고|이나|으로|부터|까지|정도|씩|야|이|가|은|는|을|를|로|나|만|쯤)$")


def asked_unit(question: str) -> str:
    """The unit a number question names ("몇 kg" -> "kg", "in milliseconds" -> "milliseconds", "초당 몇
    뉴클레오타이드" -> "뉴클레오타이드"), or ""."""
    match = _UNIT_AFTER_MYEOT.search(question) or _UNIT_IN.search(question)
    if match:
        return match.group(1)
    noun = _NOUN_AFTER_MYEOT.search(question)
    unit = _KO_UNIT_ENDING.sub("", noun.group(1)) if noun else ""
    return unit


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
        if HANGUL.search(title):
            heads.append(re.sub(r"(?:이란|란|의)$", "", words[-1]))
            continue
        before_of = re.search(r"(\w+) of\b", title)
        heads += [before_of.group(1)] if before_of else []
        content = [w for w in words if w.lower() not in ("key", "main", "the", "a", "an")]
        heads += [words[-1]] + content[:1]
    return heads


def slot_name(slot: str, language: str) -> str:
    from .prompts import message

    return message(f"slot_{slot}", language)


URL_LINE = _SLOTS["url"][1]   # a line that holds a link
