"""Course notes as PDF and Word (rag/ingest/documents.py): sections, numbering, page sections, the messages for
scanned, encrypted, damaged and oversized files, a folder with a bad file, and the Teacher tab's "Bring a course".
The files are made in the test (tests/document_fixtures.py); the index uses the fake embedder."""
from __future__ import annotations

import pytest

from rag import catalog
from rag.errors import NotesError
from rag.ingest import documents
from rag.ingest.loaders import load_notes
from rag.ingest.sections import parse_sections
from tests.document_fixtures import make_docx, make_pdf

PAGE1 = ["Lecture 3: Accelerated computing", "1. GPUs", "1.1 What a GPU is",
         "A GPU runs one instruction on thousands of small cores at once, which suits the matrix",
         "arithmetic of deep learning.", "1.2 GPU memory", "HBM gives a GPU its memory bandwidth."]
PAGE2 = ["2. Clusters", "2.1 NVLink", "NVLink connects the GPUs inside one server directly.", "- fast", "- direct"]


def sections(path):
    return {s.section: s for s in load_notes([path]).sections}


def test_docx_headings_become_numbered_sections_with_bullets_and_tables(tmp_path):
    path = make_docx(tmp_path / "econ.docx", [
        ("title", "Economics 101"), ("h1", "Demand"), ("p", "Demand is what buyers want at each price."),
        ("h2", "Elasticity"), ("p", "Elasticity measures how demand responds."), ("li", "price elasticity"),
        ("li", "income elasticity"), ("h2", "Substitutes"), ("p", "1.5 million buyers switched to tea."),
        ("h1", "Supply"), ("h2", "4.5 Costs"),
        ("table", [["Cost", "Meaning"], ["fixed", "paid | always"], ["variable", "grows with output"]]),
        ("h2", "Margins"), ("p", "3. Install is not a chapter here.")])
    found = sections(path)
    assert list(found) == ["1.0", "1.1", "1.2", "4.5", "4.6"]   # numbered in order; "4.5 Costs" keeps its number
    assert found["1.0"].title == "Demand" and found["1.0"].text == "Demand is what buyers want at each price."
    assert found["1.1"].title == "Elasticity" and found["1.1"].chapter_title == "Demand"
    assert found["1.1"].text.splitlines()[1:] == ["- price elasticity", "- income elasticity"]
    assert found["1.2"].text == "1.5 million buyers switched to tea."   # a body line is never a heading
    assert found["4.5"].text.splitlines() == ["| Cost | Meaning |", "|---|---|", "| fixed | paid \\| always |",
                                              "| variable | grows with output |"]
    assert found["4.6"].text == "3. Install is not a chapter here." and found["4.6"].language == "en"


def test_docx_with_one_heading_level_is_one_chapter_of_sections(tmp_path):
    path = make_docx(tmp_path / "bio.docx", [("p", "세포 생물학 강의 노트"), ("h2", "세포막"), ("p", "세포막은 세포를 둘러싼다."),
                                             ("h2", "미토콘드리아"), ("p", "미토콘드리아는 에너지를 만든다.")])
    found = sections(path)
    assert [(n, s.title) for n, s in found.items()] == [("0.1", "bio"), ("1.1", "세포막"), ("1.2", "미토콘드리아")]
    assert found["1.1"].chapter_title == "bio" and found["1.1"].language == "ko"


def test_pdf_outline_gives_the_sections(tmp_path):
    path = make_pdf(tmp_path / "gpu.pdf", [["Basics", "GPUs", "A GPU has many cores."], ["Memory", "HBM is fast."],
                                           ["Networks", "InfiniBand links servers."]],
                    outline=[("Basics", 0, [("GPUs", 0, []), ("Memory", 1, [])]), ("Networks", 2, [])])
    found = sections(path)
    assert [(n, s.title, s.text) for n, s in found.items()] == [
        ("1.1", "GPUs", "A GPU has many cores."), ("1.2", "Memory", "HBM is fast."),
        ("2.1", "Networks", "InfiniBand links servers.")]
    assert found["1.1"].chapter_title == "Basics"


def test_pdf_numbered_heading_lines_give_the_sections_and_wrapped_lines_are_joined(tmp_path):
    found = sections(make_pdf(tmp_path / "lecture3.pdf", [PAGE1, PAGE2]))
    assert list(found) == ["1.1", "1.2", "2.1"]
    assert found["1.1"].text == ("A GPU runs one instruction on thousands of small cores at once, which suits the "
                                 "matrix arithmetic of deep learning.")
    assert found["2.1"].chapter_title == "Clusters" and found["2.1"].text.splitlines()[1:] == ["- fast", "- direct"]


def test_pdf_without_outline_or_headings_has_a_section_per_page(tmp_path):
    path = make_pdf(tmp_path / "slides.pdf", [["Why GPUs matter for training large models today."], [],
                                              ["NVLink and InfiniBand connect the accelerators."]])
    notes = load_notes([path])
    assert [(s.section, s.title) for s in notes.sections] == [("1.1", "p. 1"), ("1.3", "p. 3")]
    assert notes.sections[0].chapter_title == "slides"
    assert any("page(s) 2 have no text layer" in str(w) for w in notes.warnings)


@pytest.mark.parametrize("make, expected", [
    (lambda p: make_pdf(p / "scan.pdf", [[], []]), "looks like a scanned PDF with no text layer; run OCR first"),
    (lambda p: make_pdf(p / "locked.pdf", [PAGE1], password="pw"), "is password-protected (encrypted)"),
    (lambda p: (p / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj garbage") and p / "broken.pdf",
     "cannot read it as a PDF (damaged"),
    (lambda p: (p / "broken.docx").write_bytes(b"PK\x03\x04 not really") and p / "broken.docx",
     "cannot read it as a Word document (damaged"),
    (lambda p: (p / "locked.docx").write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 600) and p / "locked.docx",
     "is password-protected or an old Word .doc"),
])
def test_unusable_documents_raise_a_notes_error_naming_the_file(tmp_path, make, expected):
    path = make(tmp_path)
    with pytest.raises(NotesError) as caught:
        documents.read_document(path)
    assert str(caught.value).startswith(f"{path}: ") and expected in str(caught.value)


def test_an_oversized_document_is_refused_before_reading(tmp_path, monkeypatch):
    path = make_pdf(tmp_path / "big.pdf", [PAGE1])
    monkeypatch.setattr(documents, "MAX_DOCUMENT_BYTES", 100)
    with pytest.raises(NotesError, match=r"big.pdf: .* too large for course notes \(limit 0 MB\)"):
        documents.read_document(path)


def test_a_folder_with_a_bad_file_indexes_the_good_ones_and_answers_with_citations(tmp_path, make_engine):
    folder = tmp_path / "gpu-course"
    folder.mkdir()
    make_pdf(folder / "lecture3.pdf", [PAGE1, PAGE2])
    make_docx(folder / "lecture4.docx", [("h1", "5 Storage"), ("h2", "5.1 Parallel file systems"),
                                         ("p", "Lustre stripes a file over many storage servers.")])
    make_pdf(folder / "scan.pdf", [[]])
    engine = make_engine(notes=[folder])
    report = engine.build_index()
    assert report.built and report.n_sections == 4
    assert any("scan.pdf: looks like a scanned PDF" in w for w in report.warnings)
    answer = engine.ask("What does NVLink connect?")
    assert [c.section for c in answer.citations][:1] == ["2.1"] and "NVLink" in answer.text
    assert [c.section for c in engine.ask("How does Lustre store a file?").citations][:1] == ["5.1"]
    course = catalog.load_course(folder)
    assert course.id == "gpu-course" and course.title == "gpu-course"


def test_headings_only_keeps_numbered_body_lines_as_text():
    text = "## 1. A\n### 1.1 B\n1.5 million GPUs\n2. Install\n### 1.2 C\nx\n"
    parsed = parse_sections(text, "x.pdf", headings_only=True)
    assert [(s.section, s.text) for s in parsed.sections] == [("1.1", "1.5 million GPUs\n2. Install"), ("1.2", "x")]
    assert [s.section for s in parse_sections(text, "x.md").sections] == ["1.1", "1.5", "1.2"]   # as Markdown


def test_teacher_bring_a_course_copies_indexes_and_registers_it(tmp_path, fake_embedder):
    pytest.importorskip("gradio")
    from rag.config import load_settings
    from rag.engine import Engine
    from rag.web.teacher import TeacherHandlers

    uploads = tmp_path / "uploads"
    uploads.mkdir()
    good = make_pdf(uploads / "lecture3.pdf", [PAGE1, PAGE2])
    scan = make_pdf(uploads / "scan.pdf", [[]])
    other = uploads / "slides.pptx"
    other.write_bytes(b"x")
    home = tmp_path / "home"
    settings = load_settings(environ={}, home=home, teacher_password="pw", generator="extractive")
    h = TeacherHandlers(settings, engine=Engine(settings, embedder=fake_embedder))
    steps = []

    def bring(files, title):
        return h.bring(files, title, True, progress=lambda fraction, desc="": steps.append(desc))

    message, box = bring([str(good), str(scan), str(other)], "GPU Computing")
    assert 'class="rag-bring-ok"' in message and "GPU Computing" in message and "ready" in message
    assert "scan.pdf: looks like a scanned PDF" in message and "slides.pptx: not a notes file" in message
    assert box["value"] is None and "Building the index..." in steps
    folder = home / "courses" / "gpu-computing"
    assert sorted(p.name for p in folder.iterdir()) == ["course.toml", "lecture3.pdf"]   # bad files not copied
    course = catalog.find("gpu-computing", settings)
    assert course.title == "GPU Computing" and catalog.registered(home)["gpu-computing"] == str(folder.resolve())
    engine = Engine(settings, embedder=fake_embedder).for_course("gpu-computing")
    assert engine.index_problems() == []   # built: the chat's picker can serve it at once
    from rag.web.ui import ChatHandlers

    chat = ChatHandlers(Engine(settings, embedder=fake_embedder))
    picker = chat.course_choices()         # what a page load shows
    assert ("GPU Computing", "gpu-computing") in picker["choices"] and picker["visible"] is True
    # the same slug for another course's title: a new folder, said so; nothing of the first is touched
    message, _ = bring([str(good)], "GPU computing!")
    assert "already holds another course; this one is saved as gpu-computing-2" in message
    assert (home / "courses" / "gpu-computing-2" / "lecture3.pdf").is_file()
    # errors: no files, nothing usable, locked page
    assert "No files chosen" in bring([], "x")[0]
    message, box = bring([str(scan)], "Scans")
    assert "rag-error" in message and "No course was made" in message and "scan.pdf" in message
    assert not (home / "courses" / "scans").exists()
    assert "rag-error" in h.bring([str(good)], "Sneaky", False)[0] and not (home / "courses" / "sneaky").exists()
