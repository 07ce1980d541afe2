"""The "교사 · Teacher" tab: what the class asked and how it did on the quizzes, behind a password.

``RAG_TEACHER_PASSWORD`` (``Settings.teacher_password``) opens it; without one the tab only says how to set it.
Read from the study store (``open_progress``) for the app's course (``course_id``): the number of questions, the gaps
in the notes (refused and partly covered questions by closest section, with examples), the busiest sections, questions
per section per week, quiz mastery per chapter with its spread over students, the most often missed items, and the
per-section table as CSV (``rag report --csv``'s). "Bring a course" turns uploaded notes (.md .txt .pdf .docx) into a
new course, indexed and registered (``rag/web/bring.py``). The figures are ``rag/study/report.py``'s plain functions;
``TeacherHandlers`` renders them and is called directly by tests; ``build_teacher_tab`` only wires it.
"""
from __future__ import annotations

import hmac
import html
import logging
import tempfile
import time
from datetime import datetime
from pathlib import Path

import gradio as gr

from ..errors import RagError
from ..prompts import message
from ..study import report
from . import render
from .render import bilingual

log = logging.getLogger(__name__)

WRONG_PASSWORD_DELAY_S = 1.0   # each wrong try waits: guessing by script gets slow
TOP_SECTIONS = 15              # bars in the busiest-sections plot
HEAT_WEEKS = 12                # weeks in the heat map (the latest)
MISSED_ITEMS = 10
GAP_EXAMPLES = 3
_OUTCOME_COLORS = {"answer": "#16a34a", "partial": "#d97706", "refused": "#dc2626"}
_OUTCOME_KEYS = {"answer": "teacher_answered", "partial": "teacher_partial", "refused": "teacher_refused"}


class TeacherHandlers:
    """Events of the Teacher tab. ``sections``/``bank``: callables giving the notes' sections (for titles) and the
    quiz items (for the missed items' questions); the Quiz tab shares its own, loaded once."""

    def __init__(self, settings, sections=None, bank=None, progress=None, engine=None):
        self.settings = settings
        self._sections = sections
        self._bank = bank
        self._progress = progress
        self._engine = engine      # the app's engine: a brought course's index is embedded by its loaded model

    @property
    def enabled(self) -> bool:
        return bool(self.settings.teacher_password)

    def check(self, password) -> bool:
        """The password, compared in constant time; never true when none is set."""
        if not self.enabled or not isinstance(password, str):
            return False
        return hmac.compare_digest(password.encode("utf-8"), self.settings.teacher_password.encode("utf-8"))

    def progress(self):
        if self._progress is not None:
            return self._progress
        from ..study.progress import open_progress

        return open_progress(self.settings)

    def course(self) -> str:
        from ..study.progress import course_id

        return course_id(self.settings)

    # -- events ---------------------------------------------------------------------------------------
    def unlock(self, password, unlocked) -> tuple:
        """(unlocked, login row, password box, message, figures column, *figures): the figures once the password is
        right (the login row then hidden); a wrong one waits a moment and says so. The box is emptied either way."""
        if unlocked or self.check(password):
            return (True, gr.update(visible=False), "", "", gr.update(visible=True), *self.figures())
        if password:
            time.sleep(WRONG_PASSWORD_DELAY_S)
        message = render.render_error(bilingual("teacher_wrong")) if password else ""
        return (False, gr.update(visible=True), "", message, gr.update(visible=False), *(gr.skip(),) * len(FIGURES))

    def bring(self, files, title, unlocked, progress=gr.Progress()) -> tuple:
        """"Bring a course": (result message, files box) — the files are checked, copied into a new course folder,
        indexed (progress shown) and registered (``rag/web/bring.py``); the box is emptied once they are in."""
        if not unlocked:
            return render.render_error(bilingual("teacher_wrong")), gr.skip()
        from .bring import bring_course, brought_html

        result = bring_course(files, title, self.settings, self._make_engine,
                              lambda fraction, text: progress(fraction, desc=text))
        return brought_html(result), (gr.update(value=None) if result.ok else gr.skip())

    def _make_engine(self, settings, progress):
        from ..engine import Engine

        loaded = getattr(self._engine, "embedder", None)   # none (a stand-in engine): the build loads its own
        shared = loaded() if callable(loaded) else None
        return Engine(settings, auto_index=False, progress=progress, embedder=shared)

    def refresh(self, unlocked) -> tuple:
        """The figures again, read fresh from the store (nothing while locked)."""
        if not unlocked:
            return (gr.skip(),) * len(FIGURES)
        return self.figures()

    # -- the figures ----------------------------------------------------------------------------------
    def figures(self) -> tuple:
        """(summary, gaps, busiest plot, heat map, mastery, missed items, CSV download), in FIGURES' order."""
        course = self.course()
        try:
            progress = self.progress()
            questions = progress.questions(course)
            attempts = progress.all_attempts(course)
            built = report.build(progress, course)
        except RagError as exc:
            error = render.render_error(str(exc))
            return (error, "", busiest_frame({}), "", "", "", gr.update(value=None))
        titles = self.titles()
        return (summary_html(questions, attempts, self.course_title()),
                gaps_html(report.gap_groups(questions, GAP_EXAMPLES), titles),
                busiest_frame(built["sections"], titles),
                heatmap_html(report.weekly_counts(questions, HEAT_WEEKS), titles),
                mastery_html(report.mastery_spread(attempts)),
                missed_html(report.missed_items(attempts, MISSED_ITEMS), self.item_questions()),
                gr.update(value=self.csv(built, course)))

    def csv(self, built: dict, course: str) -> str:
        """The per-section table as a CSV file (``rag report --csv``), in the temp folder gradio serves from."""
        folder = Path(tempfile.gettempdir()) / "course-rag-teacher"
        folder.mkdir(parents=True, exist_ok=True)
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in course) or "course"
        path = folder / f"{safe}-sections-{datetime.now():%Y-%m-%d}.csv"
        report.write_csv(built, path)
        return str(path)

    def titles(self) -> dict[str, str]:
        """Section number -> title: the Korean one where the notes have it (the page reads Korean first), else the
        notes' own."""
        out: dict[str, str] = {}
        try:
            sections = self._sections() if self._sections else _load_sections(self.settings)
        except RagError as exc:   # titles are a nicety: the numbers still say which section
            log.warning("section titles unavailable: %s", exc)
            return out
        for s in sorted(sections, key=lambda s: s.language != "ko"):
            out.setdefault(s.section, s.title)
        return out

    def course_title(self) -> str:
        from ..catalog import current

        try:
            return current(self.settings).title
        except RagError:
            return self.course()

    def item_questions(self) -> dict[str, tuple[str, str]]:
        """Quiz item id -> (its question, its key) for every item of the bank, the dropped ones too (old attempts may
        name them)."""
        try:
            if self._bank is not None:
                items = self._bank()
            else:
                from ..study import quiz

                items = quiz.bank(self.settings, include_dropped=True)
        except RagError as exc:
            log.warning("quiz bank unavailable: %s", exc)
            return {}
        return {it.id: (it.question, it.answer) for it in items}


def _load_sections(settings):
    from ..ingest.loaders import load_notes

    return load_notes(settings.notes).sections


# -- rendering (plain functions of the report's figures) -------------------------------------------

def _label(section: str, titles: dict[str, str]) -> str:
    title = titles.get(section, "")
    return f"{section} {title}".strip() if section else bilingual("teacher_no_section")


def _heading(key: str, info_key: str = "") -> str:
    info = f'<div class="rag-teacher-info">{html.escape(bilingual(info_key))}</div>' if info_key else ""
    return f'<h3 class="rag-teacher-h">{html.escape(bilingual(key))}</h3>{info}'


def _none() -> str:
    return f'<p class="rag-teacher-none">{html.escape(bilingual("teacher_none"))}</p>'


def summary_html(questions, attempts, course_title: str = "") -> str:
    """The headline numbers: questions, students who asked, refused, partly covered; quiz answers and students."""
    counts = {o: sum(q.outcome == o for q in questions) for o in ("refused", "partial")}
    cards = [("teacher_questions", len(questions)),
             ("teacher_askers", len({q.student for q in questions if q.student})),
             ("teacher_refused", counts["refused"]), ("teacher_partial", counts["partial"]),
             ("teacher_quiz_answers", len(attempts)), ("teacher_quiz_students", len({a.student for a in attempts}))]
    body = "".join(f'<div class="rag-teacher-card" data-key="{key}"><div class="rag-teacher-num">{n}</div>'
                   f'<div class="rag-teacher-cap">{html.escape(bilingual(key))}</div></div>' for key, n in cards)
    title = f'<div class="rag-teacher-course">{html.escape(course_title)}</div>' if course_title else ""
    return f'<div class="rag-teacher-summary">{title}<div class="rag-teacher-cards">{body}</div></div>'


def gaps_html(groups: list[dict], titles: dict[str, str]) -> str:
    """Refused and partly covered questions by closest section, each group with its example questions."""
    if not groups:
        return _heading("teacher_gaps", "teacher_gaps_info") + _none()
    rows = []
    for g in groups:
        examples = "".join(f"<li>{html.escape(q)}</li>" for q in g["examples"])
        rows.append(f'<tr data-section="{html.escape(g["section"])}"><td>{html.escape(_label(g["section"], titles))}</td>'
                    f'<td class="rag-num">{g["refused"]}</td><td class="rag-num">{g["partial"]}</td>'
                    f'<td><ul class="rag-teacher-examples">{examples}</ul></td></tr>')
    head = "".join(f"<th>{html.escape(bilingual(k))}</th>" for k in
                   ("teacher_closest", "teacher_refused", "teacher_partial", "teacher_examples"))
    return (_heading("teacher_gaps", "teacher_gaps_info") +
            f'<div class="rag-heat-wrap"><table class="rag-teacher-table rag-teacher-gaps"><thead><tr>{head}</tr>'
            f'</thead><tbody>{"".join(rows)}</tbody></table></div>')


def busiest_frame(sections: dict, titles: dict[str, str] | None = None, top: int = TOP_SECTIONS):
    """The most asked-about sections as a long table for gr.BarPlot: section label, outcome, questions (each section
    split into answered, partly covered and refused questions)."""
    import pandas as pd

    titles = titles or {}
    busiest = sorted(sections.items(), key=lambda kv: (-kv[1]["asked"], report._number_key(kv[0])))[:top]
    rows = []
    for section, row in busiest:
        label = _short(_label(section, titles))
        answered = row["asked"] - row["refused"] - row["partial"]
        for outcome, n in (("answer", answered), ("partial", row["partial"]), ("refused", row["refused"])):
            rows.append({"section": label, "outcome": bilingual(_OUTCOME_KEYS[outcome]), "questions": n})
    return pd.DataFrame(rows, columns=["section", "outcome", "questions"])


def _short(label: str, limit: int = 28) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def heatmap_html(weekly: dict, titles: dict[str, str]) -> str:
    """Questions per section per week: a table whose cells are shaded by their count."""
    weeks, rows = weekly["weeks"], weekly["sections"]
    if not rows:
        return _heading("teacher_weeks") + _none()
    top = max(max(counts) for counts in rows.values()) or 1
    head = "".join(f'<th title="{w}">{w[5:]}</th>' for w in weeks)
    body = []
    for section, counts in rows.items():
        cells = "".join(
            f'<td class="rag-heat" style="background:rgba(37,99,235,{0.08 + 0.82 * n / top:.2f});'
            f'color:{"#fff" if n / top > 0.55 else "inherit"}" title="{html.escape(section)} · {w}: {n}">{n or ""}</td>'
            if n else f'<td class="rag-heat" title="{html.escape(section)} · {w}: 0"></td>'
            for n, w in zip(counts, weeks))
        body.append(f'<tr><th class="rag-heat-row">{html.escape(_short(_label(section, titles), 36))}</th>{cells}</tr>')
    return (_heading("teacher_weeks", "teacher_weeks_info") +
            f'<div class="rag-heat-wrap"><table class="rag-teacher-table rag-heatmap"><thead><tr>'
            f'<th>{html.escape(bilingual("teacher_section"))}</th>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def mastery_html(spread: dict[str, dict]) -> str:
    """Per chapter: the class mean as a bar, the range from the weakest to the strongest student as a band."""
    if not spread:
        return _heading("teacher_mastery", "teacher_mastery_info") + _none()
    rows = []
    for chapter, m in spread.items():
        lo, hi, mean = m["min"] * 100, m["max"] * 100, m["mean"] * 100
        detail = message("teacher_spread", "en", "study_messages.json", mean=f"{mean:.0f}", low=f"{lo:.0f}",
                         high=f"{hi:.0f}", std=f"{m['std'] * 100:.0f}", n=m["students"])
        rows.append(
            f'<div class="rag-mastery-row rag-teacher-mastery" data-chapter="{html.escape(chapter)}">'
            f'<span class="rag-teacher-chapter">{html.escape(bilingual("ui_chapter", chapter=chapter))}</span>'
            f'<div class="rag-teacher-track">'
            f'<div class="rag-teacher-range" style="left:{lo:.1f}%;width:{max(hi - lo, 0.6):.1f}%"></div>'
            f'<div class="rag-mastery-bar rag-teacher-mean" style="width:{mean:.1f}%"></div></div>'
            f'<span class="rag-teacher-detail">{html.escape(detail)}</span></div>')
    return _heading("teacher_mastery", "teacher_mastery_info") + f'<div class="rag-teacher-bars">{"".join(rows)}</div>'


def missed_html(missed: list[dict], questions: dict[str, tuple[str, str]]) -> str:
    """The most often missed items, with their question and key where the quiz bank still has the item (else its
    id)."""
    if not missed:
        return _heading("teacher_missed") + _none()
    rows = []
    for r in missed:
        question, key = questions.get(r["item"], ("", ""))
        text = (f'{html.escape(question)}<div class="rag-teacher-key">{html.escape(bilingual("teacher_key"))}: '
                f'{html.escape(key)}</div>') if question else f'<code>{html.escape(r["item"])}</code>'
        rows.append(f'<tr data-item="{html.escape(r["item"])}"><td>{text}</td><td>{html.escape(r["section"])}</td>'
                    f'<td class="rag-num">{r["incorrect"]}</td><td class="rag-num">{r["partial"]}</td>'
                    f'<td class="rag-num">{r["attempts"]}</td><td class="rag-num">{r["students"]}</td></tr>')
    head = "".join(f"<th>{html.escape(bilingual(k))}</th>" for k in
                   ("teacher_item", "teacher_section", "teacher_wrong_count", "teacher_partial", "teacher_attempts",
                    "teacher_students"))
    return (_heading("teacher_missed") + f'<div class="rag-heat-wrap"><table class="rag-teacher-table '
            f'rag-teacher-missed"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>')


# the figures' outputs, in TeacherHandlers.figures' order
FIGURES = ("summary", "gaps", "busiest", "heatmap", "mastery", "missed", "csv")


def build_teacher_tab(settings, sections=None, bank=None, engine=None) -> dict:
    """The Teacher tab's components and events, inside the current Blocks (a Tab)."""
    h = TeacherHandlers(settings, sections=sections, bank=bank, engine=engine)
    if not h.enabled:
        gr.HTML(f'<div class="rag-teacher-off">{html.escape(bilingual("teacher_unset"))}</div>',
                elem_id="rag-teacher-off")
        return {"handlers": h}
    unlocked = gr.State(False)
    with gr.Row(elem_id="rag-teacher-login") as login:
        password = gr.Textbox(type="password", label=bilingual("teacher_password"), elem_id="rag-teacher-password",
                              scale=4, max_lines=1)
        enter = gr.Button(bilingual("teacher_open"), variant="primary", elem_id="rag-teacher-open", scale=1)
    message = gr.HTML("", elem_id="rag-teacher-message")
    with gr.Column(visible=False, elem_id="rag-teacher-figures") as figures:
        with gr.Row():
            refresh = gr.Button(bilingual("teacher_refresh"), size="sm", elem_id="rag-teacher-refresh")
            download = gr.DownloadButton(bilingual("teacher_csv"), size="sm", elem_id="rag-teacher-csv")
        summary = gr.HTML("", elem_id="rag-teacher-summary")
        gaps = gr.HTML("", elem_id="rag-teacher-gaps")
        gr.HTML(_heading("teacher_busiest", "teacher_busiest_info"))
        busiest = gr.BarPlot(busiest_frame({}), x="section", y="questions", color="outcome", show_label=False,
                             color_map={bilingual(_OUTCOME_KEYS[o]): c for o, c in _OUTCOME_COLORS.items()},
                             x_title=bilingual("teacher_section"), y_title=bilingual("teacher_questions"),
                             color_title=bilingual("teacher_outcome"),
                             x_label_angle=-40, height=340, sort="-y", elem_id="rag-teacher-busiest")   # busiest first
        heatmap = gr.HTML("", elem_id="rag-teacher-heatmap")
        mastery = gr.HTML("", elem_id="rag-teacher-mastery")
        missed = gr.HTML("", elem_id="rag-teacher-missed")
        with gr.Accordion(bilingual("teacher_bring"), open=False, elem_id="rag-bring"):
            gr.HTML(f'<div class="rag-teacher-info">{html.escape(bilingual("teacher_bring_info"))}</div>')
            with gr.Row():
                files = gr.File(file_count="multiple", file_types=[".md", ".txt", ".pdf", ".docx"],
                                label=bilingual("teacher_bring_files"), elem_id="rag-bring-files", scale=3)
                with gr.Column(scale=2):
                    course_title = gr.Textbox(label=bilingual("teacher_bring_title"), max_lines=1,
                                              elem_id="rag-bring-title")
                    bring = gr.Button(bilingual("teacher_bring_button"), variant="primary", elem_id="rag-bring-go")
            brought = gr.HTML("", elem_id="rag-bring-message")
        brought_event = bring.click(h.bring, [files, course_title, unlocked], [brought, files], concurrency_limit=1)
    outputs = [summary, gaps, busiest, heatmap, mastery, missed, download]
    light = dict(concurrency_limit=4, show_progress="hidden")
    for trigger in (enter.click, password.submit):
        trigger(h.unlock, [password, unlocked], [unlocked, login, password, message, figures, *outputs], **light)
    refresh.click(h.refresh, [unlocked], outputs, **light)
    # a course just brought: the page's course pickers can chain a refresh on it (rag/web/quiz.py)
    return {"handlers": h, "outputs": outputs, "brought": brought_event}
