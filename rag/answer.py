"""Question + retrieved sections -> Answer: check the question, refuse or generate, check citations.

Generation goes through any registered ``Generator``. An LLM backend that fails mid-answer falls back
to the extractive answer with a visible notice; the caller never sees a traceback.
"""
from __future__ import annotations

import re
import time
from dataclasses import replace
from typing import Iterator

from .citations import attach_citations, strip_invalid_markers
from .errors import GenerationError, ModelError, QuestionError
from .guard import answer_problem
from .llm.base import GenerationRequest, Generator
from .llm.extractive import ExtractiveGenerator
from .prompts import message, template
from .text.language import detect_language, script_profile
from .text.tokenize import normalise, tokenize
from .types import Answer, Hit, Section

LANGUAGE_NAMES = {"ko": "Korean (한국어)", "en": "English"}
REFUSAL_MARKER = "NOT_IN_NOTES"
_FOLLOW_UP_CUES = re.compile(
    r"^(그럼|그러면|그건|그것|그게|이건|이것|저건|또|그리고|and\b|what about\b|how about\b|and its\b|its\b|it\b|"
    r"they\b|those\b|that\b|why\b)", re.IGNORECASE)
_REFERS_BACK = re.compile(r"\b(it|its|they|them|their|that|those|these|this|one|more about)\b"
                          r"|그것|그거|이것|이거|그게|저것|위의|그 중|그중|앞의|뒤의|같은|또 ", re.IGNORECASE)


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

    Weights and the threshold were fitted on the gold set with cross-validation (evals/refusal_cv.py).
    """
    # On the gold set the raw top cosine separated covered from uncovered questions best (AUC 0.94), the
    # share of question words found in the top sections next (0.89); BM25's best score did not (0.33).
    return (5.0 * (features.get("dense_top", 0.0) - 0.85) + 0.5 * features.get("coverage", 0.0)
            + 0.1 * features.get("dense_z", 0.0))


def section_label(hit: Hit) -> str:
    return f"{hit.section} {hit.title}"


class Answerer:
    def __init__(self, retriever, sections_by_key: dict, generator: Generator, settings):
        self.retriever = retriever
        self.sections = sections_by_key          # (doc, section, language) -> Section
        self.generator = generator
        self.settings = settings
        self.extractive = ExtractiveGenerator(settings)

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
        timings: dict[str, float] = {}
        start = time.perf_counter()
        clean, language, notice = prepare_question(question, self.settings.max_question_chars)
        standalone = self._standalone(clean, history, language)
        timings["rewrite"] = _ms(start)
        mark = time.perf_counter()
        retrieval = self.retriever.retrieve(standalone)
        timings["retrieve"] = _ms(mark)
        hits = retrieval.hits
        sections = [self.section_for(hit, language) for hit in hits]
        base = dict(question=clean, language=language, timings=timings, notice=notice)

        if not hits or evidence_score(retrieval.features) < self.settings.refusal_threshold:
            yield self._refusal(hits, base)
            return
        weights = {t: self.retriever.keyword.idf.get(t, 0.0) for t in retrieval.expanded_tokens}
        request = GenerationRequest(standalone, language, hits, [], self.settings.max_new_tokens,
                                    sections, retrieval.expanded_tokens, weights)
        mark = time.perf_counter()
        text, generator_label, fallback_notice = yield from self._generate(request)
        timings["generate"] = _ms(mark)
        if fallback_notice:
            base["notice"] = " ".join(filter(None, [notice, fallback_notice]))
        if text.strip().startswith(REFUSAL_MARKER) or not text.strip():
            yield self._refusal(hits, base, generator_label)
            return
        if self.generator.uses_llm and generator_label == self.generator.label:
            text, generator_label, base["notice"] = self._guarded(text, request, generator_label, base["notice"])
        valid = {hit.section for hit in hits}
        text = strip_invalid_markers(text, valid).strip()
        citations = attach_citations(text, hits, sections, self._bilingual_tokens)
        timings["total"] = _ms(start)
        yield Answer(text=text, refused=False, generator=generator_label, citations=citations, **base)

    def _generate(self, request: GenerationRequest):
        """Yields text pieces as they come; returns (text, generator label, fallback notice)."""
        generator = self.generator
        pieces: list[str] = []
        try:
            if generator.uses_llm:   # inside the try: counting tokens may load (and fail to load) the model
                request.hits, request.sections = request.hits[:self.settings.top_k], request.sections[:self.settings.top_k]
                request.messages = self.build_messages(request)
            for piece in _hold_back_marker(generator.stream(request)):
                pieces.append(piece)
                yield piece
            return "".join(pieces), generator.label, ""
        except (GenerationError, ModelError) as exc:
            if not generator.uses_llm:
                raise
            notice = message("fallback", request.language, generator=generator.label, reason=_short(exc))
            text = self.extractive.complete(request)
            yield "\n\n" + notice + "\n\n" + text if pieces else text
            return text, self.extractive.label, notice

    def _guarded(self, text: str, request: GenerationRequest, label: str, notice: str) -> tuple[str, str, str]:
        """The model's text, or the extractive answer when the text leaks the prompt or leaves the notes."""
        notes_tokens: set[str] = set()
        for section in request.sections:
            notes_tokens |= self._bilingual_tokens(section)
        notes_tokens |= set(request.query_tokens)   # the question's own words are fair to repeat
        problem = answer_problem(text, request.messages[0]["content"], notes_tokens)
        if not problem:
            return text, label, notice
        replaced = message("guard", request.language, reason=problem)
        return self.extractive.complete(request), self.extractive.label, " ".join(filter(None, [notice, replaced]))

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
        language_name = LANGUAGE_NAMES[request.language]
        blocks, used = [], 0
        for hit, section in zip(request.hits, request.sections):
            text, title = _inert(section.text), _inert(section.title).replace('"', "'")   # no breaking out
            block = template("context_block.txt").format(section=hit.section, title=title, text=text)
            cost = self.generator.count_tokens(block)
            if blocks and used + cost > self.settings.context_tokens:
                break
            blocks.append(block)
            used += cost
        system = template("answer_system.txt").format(language_name=language_name)
        user = template("answer_user.txt").format(context="\n".join(blocks), question=request.question,
                                                  language_name=language_name,
                                                  example_section=request.hits[0].section if request.hits else "1.1")
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def _refusal(self, hits: list[Hit], base: dict, generator_label: str | None = None) -> Answer:
        language = base["language"]
        # suggestions titled in the student's language (a hit carries the title of whichever chunk matched)
        suggestions = [replace(h, title=self.section_for(h, language).title) for h in hits[:3]]
        text = message("refusal", language)
        if suggestions:
            text += " " + message("suggest", language, sections=", ".join(section_label(h) for h in suggestions))
        base["timings"]["total"] = sum(v for k, v in base["timings"].items() if k != "total")
        return Answer(text=text, refused=True, generator=generator_label or self.generator.label,
                      citations=[], suggestions=suggestions, **base)


def _hold_back_marker(pieces):
    """Don't stream the start of a "NOT_IN_NOTES" reply to the student: hold text until it can't be one."""
    buffer, decided = "", False
    for piece in pieces:
        if decided:
            yield piece
            continue
        buffer += piece
        stripped = buffer.lstrip()
        if len(stripped) >= len(REFUSAL_MARKER) or not REFUSAL_MARKER.startswith(stripped[: len(REFUSAL_MARKER)]):
            decided = True
            if not stripped.startswith(REFUSAL_MARKER):
                yield buffer
    if not decided and buffer and not buffer.strip().startswith(REFUSAL_MARKER[: len(buffer.strip())]):
        yield buffer


_SECTION_TAG = re.compile(r"<\s*/?\s*section\b", re.IGNORECASE)


def _inert(text: str) -> str:
    """Notes text that cannot open or close a <section> block of the prompt, in any case or spacing."""
    return _SECTION_TAG.sub("", text)


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
