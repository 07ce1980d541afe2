"""Question + retrieved sections -> Answer: check the question, refuse or generate, check citations.

Generation goes through any registered ``Generator``. An LLM backend that fails mid-answer falls back
to the extractive answer with a visible notice; the caller never sees a traceback.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from typing import Iterator

from .answerability import (ANSWER, PARTIAL, REFUSE, Coverage, NotesVocabulary, asked_slots, asks_every_mention,
                            assess, combine_parts, frames_a_mention_question, quoted_terms, slot_filled, split_parts,
                            weakly_retrieved)
from .citations import attach_citations, strip_invalid_markers
from .claims import ClaimChecker, SentenceCheck, checked_sentences, strip_markers
from .errors import GenerationError, ModelError, QuestionError
from .evidence import (EvidenceLine, add_slot_lines, numbered_block, select_evidence, select_mentions,
                       table_of_contents)
from .guard import leaks_prompt
from .llm.base import GenerationRequest, Generator
from .llm.extractive import ExtractiveGenerator, compose
from .prompts import message, template
from .retrieve import Retrieval
from .structure import Reference, asks_about_table, find_reference, holds_table, pin
from .text.language import detect_language, script_profile
from .text.tokenize import normalise, tokenize
from .types import Answer, Hit, Section

LANGUAGE_NAMES = {"ko": "Korean (한국어)", "en": "English"}
REFUSAL_MARKER = "NOT_IN_NOTES"
JUDGE_TOKENS = 3        # "YES" / "NO": the verdict is the first word
SELECT_TOKENS = 16      # "3, 1, 5": line numbers only
OFF_TOPIC_FITTED_FOR = "multilingual-e5-small"   # the encoder the off-topic margins were measured with
SELECT_MAX_LINES = 3    # set by hand: an answer is a few lines; the readers marked long line lists "partial"
_FOLLOW_UP_CUES = re.compile(
    r"^(그럼|그러면|그건|그것|그게|이건|이것|저건|또|그리고|and\b|what about\b|how about\b|and its\b|its\b|it\b|"
    r"they\b|those\b|that\b|why\b)", re.IGNORECASE)
_REFERS_BACK = re.compile(r"\b(it|its|they|them|their|that|those|these|this|one|more about)\b"
                          r"|그것|그거|이것|이거|그게|저것|위의|그 중|그중|앞의|뒤의|같은|또 ", re.IGNORECASE)


def evidence_titles(evidence) -> str:
    """The title of each section the evidence lines come from, one per line (for the count slot's list check)."""
    return "\n".join(dict.fromkeys(line.section.title for line in evidence))


def prepare_question(question, max_chars: int) -> tuple[str, str, str]:
    """(clean question, language, notice). Raises QuestionError with a message for the student."""
    if not isinstance(question, str):
        raise QuestionError("The question must be text.")
    clean = " ".join(normalise(question).split())
    if not clean:
        raise QuestionError("The question is empty: type a question about the course notes.")
    if len(clean) > max_chars:
        raise QuestionError(f"The question is {len(clean):,} characters long; the limit is {max_chars:,}. "
                            "Shorten it to the question itself.")
    profile = script_profile(clean)
    if not any(profile.values()):
        raise QuestionError("The question has no words in it (only symbols or emoji): ask it in Korean or English.")
    notice = ""
    if profile["other"] > profile["hangul"] + profile["latin"]:
        notice = message("other_language", "en")
    return clean, detect_language(clean), notice


def is_follow_up(question: str, history) -> bool:
    if not history:
        return False
    return bool(_FOLLOW_UP_CUES.match(question) or _REFERS_BACK.search(question)) or len(tokenize(question)) <= 2


def last_user_turn(history) -> str:
    for turn in reversed(history or []):
        if turn.get("role") == "user" and str(turn.get("content", "")).strip():
            return str(turn["content"])
    return ""


def evidence_score(features: dict) -> float:
    """How well the notes cover the question, from retrieval alone (higher = better covered).

    The weights were set on the first (v1) gold set before it was split, so 75 of the items they saw are now in
    the test split: a known leak. A logistic regression over the same features refitted on dev v1+v2 and scored
    on the v3 writer traded false refusals for refusal recall (0.113 / 0.625 against 0.200 / 0.725) without
    beating them on both, so they stay; the threshold is fitted on dev (``Settings.refusal_threshold``).
    """
    # On the gold set the raw top cosine separated covered from uncovered questions best (AUC 0.94), the
    # share of question words found in the top sections next (0.89); BM25's best score did not (0.33).
    return (5.0 * (features.get("dense_top", 0.0) - 0.85) + 0.5 * features.get("coverage", 0.0)
            + 0.1 * features.get("dense_z", 0.0))


def section_label(hit: Hit) -> str:
    return f"{hit.section} {hit.title}"


@dataclass
class Gathered:
    """What the answer is built from, before anyone decides whether to answer."""

    retrieval: Retrieval
    hits: list[Hit]
    sections: list[Section]
    evidence: list
    weights: dict
    score: float
    reference: Reference


class Answerer:
    def __init__(self, retriever, sections_by_key: dict, generator: Generator, settings, similarity=None,
                 vocabulary_cache=None):
        self.retriever = retriever
        self.sections = sections_by_key          # (doc, section, language) -> Section
        self.generator = generator
        self.settings = settings
        self.extractive = ExtractiveGenerator(settings)
        self.similarity = similarity             # (text, [texts]) -> cosines, for the claim check; optional
        self._vocabulary: NotesVocabulary | None = None
        self._vocabulary_cache = vocabulary_cache  # a file beside the index build: Kiwi over all notes once per build
        self._course_terms: set[str] | None = None
        self._notes_tokens: set[str] | None = None

    def course_terms(self) -> set[str]:
        """Tokens of the glossary mined from the notes: the course's technical terms."""
        if self._course_terms is None:
            entries = getattr(getattr(self.retriever, "glossary", None), "entries", [])
            self._course_terms = {t for e in entries for t in (*e.ko_tokens, *e.en_tokens)}
        return self._course_terms

    def gather(self, question: str, language: str) -> "Gathered":
        """Retrieval, the sections a question names, the evidence lines and the evidence score."""
        retrieval = self.retriever.retrieve(question)
        hits = retrieval.hits[:self.settings.top_k]
        reference = find_reference(question, self.section_numbers())
        if reference:
            hits = pin(hits, reference, self.sections_by_number(language), self.settings.top_k)
        elif asks_about_table(question):
            # the first of the top hits that holds a table leads, so its rows are the evidence; not a reference:
            # pointing at "the table" says nothing about whether the notes answer the rest of the question
            tabled = [h.section for h in hits[:3] if holds_table(self.section_for(h, language))]
            if tabled and tabled[0] != hits[0].section:
                hits = pin(hits, Reference(sections=tabled[:1]), self.sections_by_number(language), self.settings.top_k)
        sections = [self.section_for(hit, language) for hit in hits]
        weights = {t: self.retriever.keyword.idf.get(t, 0.0) for t in retrieval.expanded_tokens}
        if reference.overview:
            evidence = table_of_contents(sections)
        elif asks_every_mention(question) and (mentions := self._mentions(question, language, retrieval, weights,
                                                                          reference)):
            evidence = mentions
            # the sections that say it lead the hits, so the answer cites them and the LLM's markers for them stay
            wanted = Reference(sections=list(dict.fromkeys(line.number for line in mentions)))
            hits = pin(hits, wanted, self.sections_by_number(language), max(self.settings.top_k, len(wanted.sections)))
            sections = [self.section_for(hit, language) for hit in hits]
        else:
            evidence = (select_evidence(sections, retrieval.expanded_tokens, weights,
                                        line_cosines=retrieval.line_cosines) if sections else [])
            if "url" in asked_slots(question):   # only a URL is specific enough: any line has some number
                evidence = add_slot_lines(evidence, sections, lambda text: not slot_filled("url", text))
        return Gathered(retrieval, hits, sections, evidence, weights, evidence_score(retrieval.features), reference)

    def _mentions(self, question, language, retrieval, weights, reference) -> list:
        """One line from each section that mentions what a "where do the notes mention X" question names (inside
        the chapters it names, if any); [] when fewer than two sections do: then it is an ordinary question."""
        by_number = self.sections_by_number(language)
        numbers = sorted(by_number, key=lambda n: tuple(int(p) for p in n.split(".")))
        if reference.chapters:
            numbers = [n for n in numbers if n.split(".")[0] in reference.chapters]
        frame = {t for t in retrieval.expanded_tokens if frames_a_mention_question(t)}
        other = self.sections_by_number("en" if language == "ko" else "ko")
        twins = {n: other[n] for n in numbers if n in other and other[n].language != by_number[n].language}
        lines = select_mentions([by_number[n] for n in numbers], retrieval.expanded_tokens, weights,
                                line_cosines=retrieval.line_cosines, frame=frame, twins=twins,
                                quoted=quoted_terms(question), term_groups=self._term_groups(retrieval))
        return lines if len({line.number for line in lines}) >= 2 else []

    def _term_groups(self, retrieval) -> list[set[str]]:
        """Each question token with its glossary translations and the Latin word it spells in Hangul
        ("컨테이너" / "container"); any other expansion token is a term of its own."""
        glossary = getattr(self.retriever, "glossary", None)
        loanwords = getattr(self.retriever, "loanwords", None)
        groups = []
        for token in retrieval.query_tokens:
            forms = tuple(glossary.expand((token,))) if glossary is not None else (token,)
            groups.append(set(loanwords.expand(token, forms)) if loanwords is not None else set(forms))
        covered = set().union(*groups) if groups else set()
        return groups + [{t} for t in retrieval.expanded_tokens if t not in covered]

    def notes_tokens(self) -> set[str]:
        """Every token of the notes (both languages, glossary): what a claim may lean on. Built once."""
        if self._notes_tokens is None:
            vocab = self.vocabulary()
            self._notes_tokens = set(vocab.section_count) | vocab.latin | vocab.korean
        return self._notes_tokens

    def section_numbers(self) -> set[str]:
        return {number for _, number, _ in self.sections}

    def sections_by_number(self, language: str) -> dict[str, Section]:
        """Section number -> the section in ``language`` (the other language where it has none)."""
        found: dict[str, Section] = {}
        for (_, number, lang), section in self.sections.items():
            if lang == language or number not in found:
                found[number] = section
        return found

    def vocabulary(self) -> NotesVocabulary:
        """Every word and number of the notes (both languages, glossary): built once, on first use."""
        if self._vocabulary is None:
            cached = NotesVocabulary.load(self._vocabulary_cache) if self._vocabulary_cache else None
            if cached is None:
                texts = [f"{s.section} {s.title}\n{s.chapter_title}\n{s.text}" for s in self.sections.values()]
                entries = getattr(getattr(self.retriever, "glossary", None), "entries", [])
                cached = NotesVocabulary.build(texts, entries, {s.language for s in self.sections.values()})
                if self._vocabulary_cache:
                    cached.save(self._vocabulary_cache)
            self._vocabulary = cached
        return self._vocabulary

    def multilingual_similarity(self, text: str, lines: list[str]) -> list[float]:
        """Cosines of ``text`` with each line by the multilingual question encoder (the claim check across languages)."""
        vectors = self.retriever.embedder.embed_queries([text] + list(lines))
        return [float(v) for v in vectors[1:] @ vectors[0]]

    def threshold(self, language: str) -> float:
        """The evidence a question needs: a question in a language the notes are not written in scores lower by
        construction (no shared words, cross-lingual cosines ~0.045 lower), so it has its own threshold."""
        if self.vocabulary().writes(language):
            return self.settings.refusal_threshold
        return self.settings.cross_language_threshold

    def off_topic(self, features: dict, language: str) -> bool:
        """The question is nearer an everyday question no course answers (rag/prompts/off_topic.json) than any
        line of the notes, by more than the margin for its language: the notes' own lines calibrate it, so notes
        on cooking raise the bar themselves. A question in a language the notes are not written in is farther
        from every line by construction: a wider margin."""
        if "off_topic_top" not in features or "line_dense_top" not in features:
            return False
        if OFF_TOPIC_FITTED_FOR not in str(getattr(self.retriever.embedder, "model_id", "")):
            return False    # another encoder's cosines live on another scale: the margins say nothing of them
        margin = (self.settings.off_topic_margin if self.vocabulary().writes(language)
                  else self.settings.cross_language_off_topic_margin)
        return features["off_topic_top"] - features["line_dense_top"] > margin

    # -- public -------------------------------------------------------------------------------------
    def answer(self, question: str, history=None, stream: bool = False):
        events = self._run(question, history)
        return events if stream else _last(events)

    def standalone_question(self, question: str, history=None) -> str:
        """The question as retrieval sees it: a follow-up rewritten with the conversation."""
        clean, language, _ = prepare_question(question, self.settings.max_question_chars)
        return self._standalone(clean, history, language)

    # -- pipeline -----------------------------------------------------------------------------------
    def _run(self, question: str, history) -> Iterator:
        """The pipeline: the question as asked -> the standalone question -> what the notes cover -> the answer."""
        timings: dict[str, float] = {}
        start = time.perf_counter()
        clean, language, notice = prepare_question(question, self.settings.max_question_chars)
        standalone = self._standalone(clean, history, language)
        timings["rewrite"] = _ms(start)
        found, coverage = self._decide(standalone, language, timings)
        base = dict(question=clean, language=language, timings=timings, notice=notice, coverage=coverage)
        if coverage is None or coverage.outcome == REFUSE:
            yield self._refusal(found.hits, base)
            return
        if coverage.outcome == ANSWER and self._judge_applies(coverage, found):
            mark = time.perf_counter()
            uncovered = self._judged_uncovered(standalone, language, found.evidence)
            timings["judge"] = _ms(mark)
            if uncovered:
                base["notice"] = " ".join(filter(None, [notice, message("judge_no", language)]))
                yield self._refusal(found.hits, base)
                return
        yield from self._respond(standalone, found, base, start)

    def _decide(self, standalone: str, language: str, timings: dict) -> tuple["Gathered", Coverage | None]:
        """What is retrieved for the question and what the notes cover of it (None: nothing was retrieved)."""
        mark = time.perf_counter()
        retrieval_text = self._bridged(standalone, language)
        found = self.gather(retrieval_text, language)
        timings["retrieve"] = _ms(mark)
        if not found.hits:
            return found, None
        # a question retrieved with its translation into the notes' language scores like neither kind of question
        bridged = retrieval_text != standalone
        coverage = self._assess(standalone, language, found,
                                self.settings.bridged_threshold if bridged else self.threshold(language))
        if bridged and weakly_retrieved(coverage):
            # ... and its translation may only add what the notes cover, never take it away: the question as asked,
            # retrieved well enough, is judged on the lines its translation found. With the bridged threshold alone
            # the CPU model's translations refused covered Korean questions the extractive answerer answered (ten
            # courses' cross-language items: 5 covered questions refused for 8 near misses, 4 of them everyday
            # questions the question as asked shows to be off topic)
            raw = self.gather(standalone, language)
            if raw.hits and raw.score >= self.threshold(language) and not self.off_topic(raw.retrieval.features, language):
                coverage = self._assess(standalone, language, found, float("-inf"))   # evidence judged above
        if weakly_retrieved(coverage) and not found.reference:
            by_parts = self._judge_by_parts(standalone, language)
            if by_parts is not None:
                found, coverage = by_parts
        return found, coverage

    def _assess(self, question: str, language: str, found: "Gathered", threshold: float) -> Coverage:
        return assess(question, language, "\n".join(line.text for line in found.evidence), found.score,
                      threshold, self.vocabulary(), named_in_notes=bool(found.reference),
                      line_cosine=found.retrieval.features.get("line_dense_top", 0.0),
                      evidence_titles=evidence_titles(found.evidence),
                      off_topic=self.off_topic(found.retrieval.features, language))

    def _respond(self, standalone: str, found: "Gathered", base: dict, start: float) -> Iterator:
        """The answer to a question the notes cover (in whole or in part): generated, checked and cited."""
        coverage, language, timings, notice = base["coverage"], base["language"], base["timings"], base["notice"]
        hits, sections, evidence = found.hits, found.sections, found.evidence
        asked = coverage.covered_question if coverage.outcome == PARTIAL else standalone
        request = GenerationRequest(asked, language, hits, [], self.settings.max_new_tokens, sections,
                                    found.retrieval.expanded_tokens, found.weights, evidence)
        mark = time.perf_counter()
        if coverage.outcome == PARTIAL:
            # the partial lead says what is missing and opens the answer; no second lead after it
            lead = message("partial", language, missing=", ".join(coverage.missing))
            request.with_lead = False
            yield lead + "\n\n"
        text, generator_label, extra_notice, llm_says_no = yield from self._generate(request)
        timings["generate"] = _ms(mark)
        base["notice"] = " ".join(filter(None, [notice, extra_notice]))
        if generator_label.startswith(self.extractive.label) and not self.vocabulary().writes(language):
            # the notes' own lines, in a language the student did not ask in: say so in theirs
            base["notice"] = " ".join(filter(None, [base["notice"], message("notes_language", language)]))
        if llm_says_no:
            # The model's "not in the notes" never refuses: the rules decide, and the student sees the notes' own
            # lines with a notice. As a vote (only where the rules let weak evidence through) it refused no near
            # miss on the 792 dev items, the 198 test items or a ninth writer's 80 items (v9), and 3 covered
            # questions (a named chapter, a rare notes term; evals/reports/llamacpp, fresh_v9). Earlier, with a
            # band above the threshold, 12 of its 17 refusals on dev had hidden covered questions.
            text, generator_label = self.extractive.complete(request), self.extractive.label
            base["notice"] = " ".join(filter(None, [notice, message("llm_not_in_notes", language)]))
            yield text
        if not text.strip():
            yield self._refusal(hits, base, generator_label)
            return
        text = strip_invalid_markers(text, {hit.section for hit in hits}).strip()
        citations = attach_citations(text, hits, sections, self._bilingual_tokens, evidence)
        if coverage.outcome == PARTIAL:
            text = lead + "\n\n" + text
        timings["total"] = _ms(start)
        base["withheld"] = list(getattr(request, "withheld", []))
        coverage = base.pop("coverage")
        yield Answer(text=text, refused=False, generator=generator_label, citations=citations,
                     outcome="partial" if coverage.outcome == PARTIAL else "answer", missing=list(coverage.missing),
                     **base)

    def _judge_by_parts(self, question: str, language: str):
        """(the answered part's retrieval, a PARTIAL coverage) when a question too weakly retrieved as a whole has
        exactly one part that retrieval answers on its own (``combine_parts``); None otherwise."""
        parts = split_parts(question)
        if len(parts) < 2:
            return None
        gathered, coverages = [], []
        for part in parts:
            found = self.gather(part, language)
            gathered.append(found)
            coverages.append(assess(part, language, "\n".join(line.text for line in found.evidence), found.score,
                                    self.threshold(language), self.vocabulary(),
                                    named_in_notes=bool(found.reference),
                                    line_cosine=found.retrieval.features.get("line_dense_top", 0.0),
                                    evidence_titles=evidence_titles(found.evidence)))
        coverage = combine_parts(parts, coverages, self.vocabulary())
        if coverage is None:
            return None
        return gathered[parts.index(coverage.covered_question)], coverage

    def _judge_applies(self, coverage, found) -> bool:
        """An LLM checks the rules' "answer" unless the question asks for what the notes hold by construction:
        a named chapter or section, the notes' own quoted words, where they say something, a link they give."""
        return (self.settings.judge and self.generator.uses_llm and not found.reference
                and coverage.let_through not in ("named", "quote", "locate", "link"))

    def _judged_uncovered(self, question: str, language: str, evidence: list[EvidenceLine]) -> bool:
        """True when the LLM says NO to "do these lines contain the answer?".

        The word rules cannot tell a plain-words near miss ("Can drugs found by AI skip human clinical trials?",
        whose evidence is 1.2's drug-discovery lines) from a paraphrase; a model asked this one question apart
        from writing an answer may. The CPU model catches most near misses but hides as many covered questions
        (``Settings.judge``), hence opt-in. A failed call is no verdict: the rules' answer stands.
        """
        if not evidence:
            return False
        prompt = template("judge.txt").format(evidence=numbered_block(evidence), question=question)
        request = GenerationRequest(question, language, messages=[{"role": "user", "content": prompt}],
                                    max_new_tokens=JUDGE_TOKENS, evidence=evidence)
        try:
            verdict = self.generator.complete(request)
        except (GenerationError, ModelError):
            return False
        first = re.match(r"\W*([A-Za-z]+)", verdict)     # "NO", "No.", "**NO**"; not "NOT_IN_NOTES"
        return bool(first) and first.group(1).upper() == "NO"

    def _generate(self, request: GenerationRequest):
        """Yields text as it may be shown; returns (text, generator label, notice, the LLM said NOT_IN_NOTES)."""
        if not self.generator.uses_llm:
            text = self.generator.complete(request)
            yield text
            return text, self.generator.label, "", False
        mode = self.answer_mode()
        if mode == "quote":
            text = self.extractive.complete(request)
            yield text
            return text, self.extractive.label, "", False
        if mode == "select":
            return (yield from self._select_lines(request))
        return (yield from self._write_checked(request))

    def _write_checked(self, request: GenerationRequest):
        """The model writes; each sentence is shown only once the claim check passes it (``rag.claims``). Yields
        text as it may be shown; returns (text, generator label, notice, the LLM said NOT_IN_NOTES)."""
        shown: list[str] = []
        kept: list[SentenceCheck] = []
        try:
            request.messages = self.build_messages(request)
            checker = ClaimChecker(request.evidence, request.question, self._bilingual_tokens, self.similarity,
                                   forbidden=lambda s: leaks_prompt(s, request.messages[0]["content"]),
                                   course_terms=self.course_terms(), notes_tokens=self.notes_tokens(),
                                   notes_languages=self.vocabulary().languages,
                                   cross_similarity=(self.multilingual_similarity
                                                     if self.settings.cross_language_sentences else None))
            dropped: list[SentenceCheck] = []
            pieces = until_marker_run(self.generator.stream(request), len(request.evidence), request)
            for check in checked_sentences(pieces, checker, lambda: request.finish_reason):
                if REFUSAL_MARKER.lower() in check.sentence.lower():
                    if not shown:
                        return "", self.generator.label, "", True
                    break
                if not check.supported:
                    dropped.append(check)
                    continue
                sentence = _with_section_markers(check)
                shown.append(sentence)
                kept.append(check)
                yield ("\n" if len(shown) > 1 else "") + sentence
            request.withheld = [{"sentence": c.sentence, "reason": c.reason} for c in dropped]
        except (GenerationError, ModelError) as exc:
            notice = message("fallback", request.language, generator=self.generator.label, reason=_short(exc))
            text = self.extractive.complete(request)
            yield "\n\n" + notice + "\n\n" + text if shown else text
            return text, self.extractive.label, notice, False
        if not shown:
            # nothing the model wrote survived the check (or it wrote nothing): the notes' own lines
            reason = dropped[0].reason if dropped else "no answer"
            notice = message("guard", request.language, reason=reason)
            text = self.extractive.complete(request)
            yield text
            return text, self.extractive.label, notice, False
        text = "\n".join(shown)
        # notes in another language: the student gets the model's checked sentences in their language, not lines
        # of the notes' language below them
        across = not self.vocabulary().writes(request.language)
        if len(dropped) > len(shown) and not across:
            # too little survived to stand alone: add the lines, never take back what was shown
            notice = message("claims_dropped", request.language, dropped=len(dropped))
            extra = self.extractive.complete(request)
            yield "\n\n" + extra
            return text + "\n\n" + extra, f"{self.generator.label}+extractive", notice, False
        left_out = [] if across else lines_left_out(request.evidence, kept, text)
        if left_out:
            # a small model drops list items: the cited sections' other evidence lines follow, as the notes say them
            extra = message("also_in_notes", request.language) + "\n" + compose(left_out, request.language, False)
            yield "\n\n" + extra
            return text + "\n\n" + extra, f"{self.generator.label}+notes", "", False
        return text, self.generator.label, "", False

    def answer_mode(self) -> str:
        """What the language model does with the evidence: write, select or quote (``Settings.answer_mode``)."""
        mode = self.settings.answer_mode
        return getattr(self.generator, "auto_answer_mode", "write") if mode == "auto" else mode

    def _select_lines(self, request: GenerationRequest):
        """The model picks the evidence lines that answer, most direct first; they are shown as the notes say them.
        A reply naming no line (or a failed model) shows every evidence line, as the extractive answer does."""
        prompt = template("select.txt").format(evidence=numbered_block(request.evidence), question=request.question)
        ask = GenerationRequest(request.question, request.language, messages=[{"role": "user", "content": prompt}],
                                max_new_tokens=SELECT_TOKENS, evidence=request.evidence)
        try:
            reply = self.generator.complete(ask) if request.evidence else ""
        except (GenerationError, ModelError):
            reply = ""
        by_id = {line.id: line for line in request.evidence}
        chosen = list(dict.fromkeys(by_id[n] for n in map(int, re.findall(r"\d+", reply)) if n in by_id))
        if not chosen:
            text = self.extractive.complete(request)
            yield text
            return text, self.extractive.label, "", False
        text = compose(chosen[:SELECT_MAX_LINES], request.language, request.with_lead)
        yield text
        return text, f"{self.generator.label}+select", "", False

    def _bridged(self, question: str, language: str) -> str:
        """What retrieval reads for a question in a language the notes are not written in: the question followed by
        the model's translation into the notes' language, so the keyword leg and the vocabulary see the notes' words
        ("보이지 않는 손" -> "invisible hand"). The question itself still decides what is asked and the answer's
        language; without a model, or when the model fails, it is retrieved as asked."""
        vocab = self.vocabulary()
        if not self.generator.uses_llm or vocab.writes(language) or not self.settings.bridge_questions:
            return question
        target = next(iter(sorted(vocab.languages)), "")
        if target not in LANGUAGE_NAMES:
            return question
        try:
            prompt = template("translate.txt").format(question=question, language_name=LANGUAGE_NAMES[target])
            translated = self.generator.complete(GenerationRequest(
                question, target, messages=[{"role": "user", "content": prompt}], max_new_tokens=64))
        except (GenerationError, ModelError):
            return question
        translated = translated.strip().splitlines()[0].strip() if translated.strip() else ""
        return f"{question} ({translated})" if 3 <= len(translated) <= 300 and translated != question else question

    def _standalone(self, question: str, history, language: str) -> str:
        if not is_follow_up(question, history):
            return question
        previous = last_user_turn(history)
        if self.generator.uses_llm:
            try:
                history_text = "\n".join(f"{t.get('role')}: {str(t.get('content', ''))[:500]}" for t in history[-4:])
                prompt = template("rewrite.txt").format(history=history_text, question=question,
                                                        language_name=LANGUAGE_NAMES[language])
                rewritten = self.generator.complete(GenerationRequest(
                    question, language, messages=[{"role": "user", "content": prompt}], max_new_tokens=48))
                rewritten = rewritten.strip().splitlines()[0].strip() if rewritten.strip() else ""
                if 3 <= len(rewritten) <= 300:
                    return rewritten
            except (GenerationError, ModelError):
                pass
        # the rule: the previous question gives the topic, the new one the ask
        return f"{previous} {question}".strip()

    # -- helpers ------------------------------------------------------------------------------------
    def section_for(self, hit: Hit, language: str) -> Section:
        other = "en" if language == "ko" else "ko"
        for lang in (language, other):
            section = self.sections.get((hit.doc, hit.section, lang))
            if section is not None:
                return section
        return Section(hit.doc, hit.section, hit.title, "", "", language, hit.chunks[0].text if hit.chunks else "")

    def _bilingual_tokens(self, section: Section) -> set[str]:
        tokens: set[str] = set()
        for lang in ("ko", "en"):
            other = self.sections.get((section.doc, section.section, lang))
            if other is not None:
                tokens.update(tokenize(other.title + "\n" + other.text))
        return tokens

    def build_messages(self, request: GenerationRequest) -> list[dict]:
        """The prompt: only the evidence lines, numbered, within the token budget (best lines first)."""
        language_name = LANGUAGE_NAMES[request.language]
        lines, used = [], 0
        for line in sorted(request.evidence, key=lambda l: -l.score):
            cost = self.generator.count_tokens(line.text) + 8
            if lines and used + cost > self.settings.context_tokens:
                continue
            lines.append(line)
            used += cost
        lines.sort(key=lambda l: l.id)
        system = template("answer_system.txt").format(language_name=language_name)
        user = template("answer_user.txt").format(evidence=numbered_block(lines), question=request.question,
                                                  language_name=language_name,
                                                  example_line=lines[0].id if lines else 1)
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def _refusal(self, hits: list[Hit], base: dict, generator_label: str | None = None) -> Answer:
        language = base["language"]
        # suggestions titled in the student's language (a hit carries the title of whichever chunk matched)
        suggestions = [replace(h, title=self.section_for(h, language).title) for h in hits[:3]]
        text = message("refusal", language)
        if suggestions:
            text += " " + message("suggest", language, sections=", ".join(section_label(h) for h in suggestions))
        base["timings"]["total"] = sum(v for k, v in base["timings"].items() if k != "total")
        coverage = base.pop("coverage", None)
        if coverage is not None and coverage.missing:
            text = message("missing_terms", language, missing=", ".join(coverage.missing)) + " " + text
        return Answer(text=text, refused=True, generator=generator_label or self.generator.label,
                      citations=[], suggestions=suggestions, outcome="refused",
                      missing=list(coverage.missing) if coverage else [], **base)


_MARKER_RUN = re.compile(r"\[\d+\]\s*(?=\[(\d+)\])")   # a marker right after a marker


def until_marker_run(pieces: Iterator[str], n_lines: int, request: GenerationRequest) -> Iterator[str]:
    """Stop the model when it starts counting markers past the last evidence line ("[5] [6] [7] ... [51]": the
    1.5B model does this until the token limit). The text before that run is kept as a finished answer."""
    text, sent = "", 0
    try:
        for piece in pieces:
            text += piece
            for run in _MARKER_RUN.finditer(text):
                if int(run.group(1)) > n_lines:
                    yield text[sent:max(sent, run.end())].rstrip()
                    request.finish_reason = "stop"
                    return
            # hold back a tail that may still become a marker run
            safe = max(sent, len(text) - 12)
            yield text[sent:safe]
            sent = safe
        yield text[sent:]
    finally:
        if hasattr(pieces, "close"):
            pieces.close()   # stops the model now and frees it for the next answer (the backend's lock)


# A line counts as said when this share of its content tokens is in the written answer (set by hand, not fitted).
SAID_SHARE = 0.6


_GLOSS = re.compile(r"\([^()]*\)")


def lines_left_out(evidence: list[EvidenceLine], kept: list[SentenceCheck], text: str) -> list[EvidenceLine]:
    """Evidence lines of the sections the written answer cites whose words the answer does not carry ("GPU 코어
    [4.3]" written, the cache and GPU memory lines of 4.3 left out). A line that merely supports a kept sentence
    is not said by it: "GPU 코어" is supported by every line naming the GPU."""
    cited_sections = {s for check in kept for s in check.sections}
    said = set(tokenize(text))
    left = []
    for line in evidence:
        if line.number not in cited_sections:
            continue
        # "베어메탈 성능 (Bare-metal performance)": the parenthesised gloss repeats the line in the other language,
        # and an answer that says the line in one language has said it
        tokens = set(tokenize(_GLOSS.sub(" ", line.text))) or set(tokenize(line.text))
        if tokens and len(tokens & said) / len(tokens) >= SAID_SHARE:
            continue
        left.append(line)
    return left


def _with_section_markers(check: SentenceCheck) -> str:
    """The sentence as the student sees it: line markers [2] become the section numbers [4.5] they stand for."""
    body = re.sub(r"\s+([.!?])$", r"\1", strip_markers(check.sentence).rstrip())
    return body + " " + "".join(f"[{n}]" for n in check.sections) if check.sections else body


def _last(events):
    result = None
    for event in events:
        result = event
    return result


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:160]
