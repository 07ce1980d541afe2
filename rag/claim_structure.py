"""Checks of what a sentence claims against the structure of its lines: who owns a property, and in what order.

Word overlap passes the errors a small model makes with the notes' own words (labelled in evals/faithfulness/):
"GPU ... 지연 시간 최적화" takes the CPU column's "latency optimized"; "머신러닝은 대규모 데이터셋의 활용" takes the AI
row's cell; "the phases, in order, are contraction, trough, expansion" reorders the notes' sequence; "1. Choose a
base year" renumbers step 4. Three structures of the notes make these visible in any course and either language:

- owned items: a table row ("구분: 강점; CPU: - a - b; GPU: - c"), where each cell item belongs to its column and to
  its row, and a definition line ("리보솜 : 단백질 합성 장소"), whose text belongs to its term;
- sequences: "a > b > c" / "a → b → c" lines and numbered steps "1) ...", "2) ...".

A sentence that names one owner and uses a phrase (two adjacent content words) found only in another owner's
items, and in no item of its own, says of one thing what the notes say of another.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .text.tokenize import tokenize

_ITEM_SPLIT = re.compile(r"(?:^|\s)[-•]\s+|\s*,\s*|\s*/\s*")
_PAREN = re.compile(r"\([^)]*\)")
_CELL = re.compile(r"^\s*([^:;]{1,40}?)\s*:\s*(.+?)\s*$")
_SEQUENCE_MARK = re.compile(r"\s(?:>|→|->)\s")
_NUMBERED = re.compile(r"^\s*(\d{1,2})[.)]\s+(.*)$")


@dataclass(frozen=True)
class Owner:
    """A column header, row label or defined term: its tokens, and those of what it writes in parentheses
    ("인공지능 (AI)": 인공, 지능 / ai), either of which names it."""

    names: tuple[tuple[str, ...], ...]

    def __bool__(self) -> bool:
        return bool(self.names)

    def __str__(self) -> str:
        return " ".join(self.names[0]) if self.names else ""

    @property
    def tokens(self) -> set[str]:
        return {t for name in self.names for t in name}


@dataclass(frozen=True)
class OwnedItem:
    group: str                 # the table or definition list the owners are compared within
    owner: Owner
    tokens: tuple[str, ...]    # the item's tokens, in order


def _owner_tokens(name: str) -> Owner:
    names = [tuple(tokenize(_PAREN.sub(" ", name)))] + [tuple(tokenize(alias)) for alias in re.findall(r"\(([^)]*)\)", name)]
    return Owner(tuple(n for n in names if n))


def owned_items(lines) -> list[OwnedItem]:
    """Every cell item of the table rows among ``lines`` under its column and its row, and every definition line's
    text under its term. ``lines``: objects with ``.text`` and ``.number`` (evidence lines)."""
    items: list[OwnedItem] = []
    for line in lines:
        pieces = [m for m in (_CELL.match(p) for p in line.text.split("; ")) if m]
        if len(pieces) >= 2 and len(pieces) == len(line.text.split("; ")):
            # a table row: with three or more cells the first names the row and the others sit under their column
            # headers; two cells are two columns ("오케스트레이션: 컨테이너 기반; 스케줄링: 작업을 노드에 할당")
            headers = tuple(m.group(1) for m in pieces)
            row = _owner_tokens(pieces[0].group(2)) if len(pieces) >= 3 else None
            for match in (pieces[1:] if row is not None else pieces):
                for item in _cell_items(match.group(2)):
                    items.append(OwnedItem(f"{line.number}|cols|{headers}", _owner_tokens(match.group(1)), item))
                    if row:
                        items.append(OwnedItem(f"{line.number}|rows|{headers}|{match.group(1)}", row, item))
        elif len(pieces) == 1 and len(line.text.split("; ")) == 1:
            term = _owner_tokens(pieces[0].group(1))
            if term and 1 <= len(term.names[0]) <= 3:
                for item in _cell_items(pieces[0].group(2)):
                    items.append(OwnedItem(f"{line.number}|defs", term, item))
    # an owner compared with nobody owns nothing against anyone
    owners: dict[str, set] = {}
    for item in items:
        owners.setdefault(item.group, set()).add(item.owner)
    return [item for item in items if len(owners[item.group]) >= 2]


def _cell_items(cell: str) -> list[tuple[str, ...]]:
    parts = [p for p in _ITEM_SPLIT.split(cell) if p and p.strip()]
    return [tokens for tokens in (tuple(tokenize(p)) for p in parts) if tokens]


def _names(tokens: tuple[str, ...], owner: tuple[str, ...]) -> bool:
    if not owner:
        return False
    n = len(owner)
    return any(tokens[i:i + n] == owner for i in range(len(tokens) - n + 1))



def _bigrams(tokens: tuple[str, ...]) -> set[tuple[str, str]]:
    return {(a, b) for a, b in zip(tokens, tokens[1:]) if a != b}


def _mentions(tokens: tuple[str, ...], owners) -> list[tuple[int, int, "Owner"]]:
    """(start, end, owner) of each place the sentence names an owner, longest name first where two overlap."""
    found = []
    for owner in owners:
        for name in owner.names:
            n = len(name)
            found += [(i, i + n, owner) for i in range(len(tokens) - n + 1) if tokens[i:i + n] == name]
    found.sort(key=lambda m: (m[0], -(m[1] - m[0])))
    kept: list[tuple[int, int, Owner]] = []
    for mention in found:
        if not kept or mention[0] >= kept[-1][1]:
            kept.append(mention)
    return kept


def swapped_owner(body: str, items: list[OwnedItem]) -> str:
    """Why the sentence gives an owner it names a phrase the notes give only to another owner, or "".

    The words from one owner's mention up to the next mention are that owner's ("Plain AI uses large datasets,
    while machine learning uses sophisticated statistical methods": each half is judged with its own owner)."""
    if not items:
        return ""
    tokens = tuple(tokenize(body))
    groups: dict[str, list[OwnedItem]] = {}
    for item in items:
        groups.setdefault(item.group, []).append(item)
    for group in groups.values():
        owners = {item.owner for item in group}
        # "The CPU is better than the GPU at complex logic": what follows "than the GPU" / "GPU보다" is still the CPU's
        mentions = [m for i, m in enumerate(_mentions(tokens, owners)) if i == 0 or not _compared_against(body, tokens, m)]
        owner_words = {t for owner in owners for t in owner.tokens}
        for index, (start, end, own) in enumerate(mentions):
            stop = mentions[index + 1][0] if index + 1 < len(mentions) else len(tokens)
            segment = tokens[0 if index == 0 else end:stop] if index else tokens[:start] + tokens[end:stop]
            swapped = _foreign_phrase(segment, own, group, owner_words)
            if swapped:
                return swapped
    return ""


def _compared_against(body: str, tokens: tuple[str, ...], mention) -> bool:
    start, end, _ = mention
    if start > 0 and tokens[start - 1] == "than" or start > 1 and tokens[start - 2] == "than":
        return True
    surface = tokens[start:end]
    return any(re.search(re.escape(joiner.join(surface)) + r"\s*보다", body, re.IGNORECASE) for joiner in ("", " "))


def _foreign_phrase(segment, own: "Owner", group: list[OwnedItem], owner_words: set[str]) -> str:
    own_items = [item.tokens for item in group if item.owner == own]
    # single Latin letters ("C + I + G") are symbols, not words
    content = tuple(t for t in segment if t not in owner_words and not (len(t) == 1 and t.isascii()))
    for pair in _bigrams(content):
        if any(pair in _bigrams(item) for item in own_items):
            continue
        # another owner's item is evidence only when it is not about this owner too: "GPU 역사" is about the GPU,
        # and an item that names the owner ("GDP = C + I + G" under "expenditure approach") relates the two
        others = [item for item in group if item.owner != own and pair in _bigrams(item.tokens)
                  and not (own.tokens & item.owner.tokens) and not any(_names(item.tokens, n) for n in own.names)]
        if others:
            return f"says of {own} what the notes say of {others[0].owner} ({' '.join(pair)})"
    return ""


_IN_ORDER = re.compile(r"\bin order\b|순서대로|차례(?:대로|로)", re.IGNORECASE)
_BULLET = re.compile(r"^\s*[-*•]\s+(.*)$")


def _step(text: str) -> tuple[str, ...]:
    """A step as the words that name it: the head of "전기 : 염색질이 ..." / "Expansion: output rises", else all."""
    head = _CELL.match(text)
    if head and len(tokenize(head.group(1))) <= 4:
        return tuple(tokenize(head.group(1)))
    return tuple(tokenize(text))


def sequences(section_texts: list[str]) -> list[tuple[str, list[tuple[str, ...]]]]:
    """The ordered lists of the notes, as ("arrows" | "numbered" | "listed", steps as token tuples): "a > b > c"
    lines, runs of numbered steps, and the list under a line that says it is in order ("The phases, in order:")."""
    found: list[tuple[str, list]] = []
    for text in section_texts:
        steps: list[tuple[str, ...]] = []
        listed: list[tuple[str, ...]] | None = None
        for raw in text.splitlines():
            line = raw.strip()
            if _SEQUENCE_MARK.search(line):
                body = line.lstrip("-* ")
                body = body.split(":", 1)[1] if ":" in re.split(r"\s(?:>|→|->)\s", body)[0] else body
                found.append(("arrows", [tuple(tokenize(p)) for p in re.split(r"\s(?:>|→|->)\s", body) if p.strip()]))
            numbered = _NUMBERED.match(line)
            if numbered:
                steps.append(_step(numbered.group(2)))
            elif steps and line:
                found.append(("numbered", steps))
                steps = []
            bullet = _BULLET.match(raw) if raw[:1] in "-*•" else None   # a top-level bullet
            if listed is not None and bullet:
                listed.append(_step(bullet.group(1)))
            elif listed is not None and line and not raw[:1].isspace():
                found.append(("listed", listed))
                listed = None
            if _IN_ORDER.search(line) and not bullet and not numbered:
                listed = []
        for kind, run in (("numbered", steps), ("listed", listed or [])):
            if run:
                found.append((kind, run))
    return [(kind, seq) for kind, seq in found if len(seq) >= 2]


def _position(part: tuple[str, ...], sequence: list[tuple[str, ...]]) -> int:
    """The step of ``sequence`` this part of a sentence is, or -1: the one whose name it holds, else the one sharing
    at least half its words; -1 when two steps tie."""
    if not part:
        return -1
    named = [i for i, step in enumerate(sequence) if step and set(step) <= set(part)]
    if len(named) == 1:
        return named[0]
    scores = [len(set(part) & set(step)) / max(1, len(set(step))) for step in sequence]
    best = max(scores)
    return scores.index(best) if best >= 0.5 and scores.count(best) == 1 else -1


def order_error(body: str, section_texts: list[str], numbered_as: int | None = None) -> str:
    """Why the sentence's sequence is not the notes' ("중기 → 말기" skips 후기; "1. Choose a base year" is step 4), or "".

    ``numbered_as``: the list number the sentence was written under, if any."""
    seqs = sequences(section_texts)
    if not seqs:
        return ""
    parts = [tuple(tokenize(p)) for p in re.split(r"\s*(?:→|->|>)\s*", body) if p.strip()]
    if len(parts) < 2 and re.search(r"\bin order\b|순서(?:대로|는)|차례(?:대로|로)", body, re.IGNORECASE):
        tail = re.split(r"\bare\b|:|은|는", body, maxsplit=1)[-1]
        parts = [tuple(tokenize(p)) for p in re.split(r",\s*|\s+and\s+|\s*및\s*", tail) if p.strip()]
    for kind, sequence in seqs:
        if len(parts) >= 2:
            positions = [_position(part, sequence) for part in parts]
            known = [p for p in positions if p >= 0]
            if len(known) >= 2 and len(known) >= len(parts) - 1:
                if any(b != a + 1 for a, b in zip(known, known[1:])):
                    return "the steps are not in the notes' order"
        if numbered_as is not None:
            position = _position(tuple(tokenize(body)), sequence)
            if kind == "numbered" and position >= 0 and position + 1 != numbered_as:
                return f"step {numbered_as} is step {position + 1} in the notes"
    return ""


_STANDS_FOR = re.compile(r"\b([A-Z][A-Za-z0-9]{1,9})\s+(?i:stands for|is short for|is an abbreviation (?:of|for))\s+(.+?)"
                         r"(?:\s*\[|[.;]|$)")
_STANDS_FOR_KO = re.compile(r"([A-Z][A-Za-z0-9]{1,9})\s*(?:은|는|이|가)?\s*(.+?)\s*의\s*약자")
_MINOR_WORDS = frozenset("of and for the a an to in on with".split())


def expansion_error(body: str) -> str:
    """Why "X stands for Y" is wrong, or "": the initials of Y must spell X ("CUDA stands for NVIDIA's parallel
    programming model", "HTS stands for high-throughput screening and drug combination")."""
    match = _STANDS_FOR.search(body) or _STANDS_FOR_KO.search(body)
    if not match:
        return ""
    acronym, expansion = match.group(1), _PAREN.sub(" ", match.group(2))
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z']*", expansion.replace("-", " "))]
    if not words or len(words) > 12 or sum(c.isupper() for c in acronym) < 2:   # "It stands for": no acronym
        return ""
    letters = "".join(c for c in acronym.lower() if c.isalpha())
    initials = [w[0].lower() for w in words if w.lower() not in _MINOR_WORDS]
    # the content words' initials, in order, within the acronym's letters and starting it ("LIDAR": light
    # detection and ranging); a word more ("... and drug combination") or another start is another thing
    if not initials or initials[0] != letters[:1] or not _in_order(initials, letters):
        return f"'{acronym}' does not stand for '{match.group(2).strip()}'"
    return ""


def _in_order(wanted: list[str], letters: str) -> bool:
    position = 0
    for letter in wanted:
        position = letters.find(letter, position) + 1
        if position == 0:
            return False
    return True
