"""Small PDF and Word files for the document-loader tests, made here (pypdf cannot write text; a PDF of a few
text lines is a few lines of PDF source)."""
from __future__ import annotations

from pathlib import Path


def _escape(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(path, pages: list[list[str]], outline=None, password: str | None = None) -> Path:
    """A PDF with one page per list of text lines (Helvetica, ASCII), an empty list making a page with no text (a
    scanned page); ``outline``: [(title, page index, children), ...] bookmarks; ``password``: encrypted."""
    path = Path(path)
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", None,
               "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"]
    kids = []
    for lines in pages:
        stream = "BT /F1 11 Tf 14 TL 72 760 Td " + " ".join(f"({_escape(line)}) Tj T*" for line in lines) + " ET"
        objects.append(f"<< /Length {len(stream.encode('latin-1'))} >>\nstream\n{stream}\nendstream")
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {len(objects)} 0 R "
                       "/Resources << /Font << /F1 3 0 R >> >> >>")
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(bytes(out))
    if outline or password:
        from pypdf import PdfWriter

        writer = PdfWriter(clone_from=str(path))

        def add(items, parent=None):
            for title, page, children in items:
                add(children, writer.add_outline_item(title=title, page_number=page, parent=parent))

        add(outline or [])
        if password:
            writer.encrypt(password, algorithm="RC4-128")
        with open(path, "wb") as handle:
            writer.write(handle)
    return path


def make_docx(path, blocks) -> Path:
    """A .docx from blocks: ("h1".."h3", text), ("p", text), ("li", text), ("table", [[cells], ...]),
    ("title", text)."""
    import docx

    document = docx.Document()
    for kind, value in blocks:
        if kind == "title":
            document.add_heading(value, level=0)
        elif kind.startswith("h"):
            document.add_heading(value, level=int(kind[1]))
        elif kind == "li":
            document.add_paragraph(value, style="List Bullet")
        elif kind == "table":
            table = document.add_table(rows=len(value), cols=len(value[0]))
            for r, row in enumerate(value):
                for c, cell in enumerate(row):
                    table.cell(r, c).text = cell
        else:
            document.add_paragraph(value)
    document.save(str(path))
    return Path(path)
