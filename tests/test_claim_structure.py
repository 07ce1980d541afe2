"""What a sentence claims against the structure of its lines: owners of table cells and definitions, and order."""
from __future__ import annotations

import pytest

from rag.claim_structure import order_error, owned_items, sequences, swapped_owner
from rag.evidence import EvidenceLine
from rag.types import Section

# a made-up course, so nothing here leans on the bundled notes' words
TABLE_ROW = ("Aspect: Strengths; Rivers: - carry sediment downstream - fast moving water; "
             "Glaciers: - carve deep valleys - very slow moving ice")
SECTION = Section("doc", "2.1", "Rivers and glaciers", "2", "Landforms", "en",
                  "| Aspect | Rivers | Glaciers |\n|---|---|---|\n| Strengths | - carry sediment downstream - fast moving "
                  "water | - carve deep valleys - very slow moving ice |\n")
STEPS = ("Making paper, in order:\n- Pulping: wood chips are cooked\n- Pressing: the pulp is squeezed\n"
         "- Drying: heated rollers dry the sheet\n\nAfterwards:\n1) Cut the roll\n2) Pack the sheets\n3) Ship them\n")


def lines(*texts):
    return [EvidenceLine(i + 1, SECTION, text, 0.0, i) for i, text in enumerate(texts)]


@pytest.mark.parametrize("sentence, swapped", [
    ("Glaciers carve deep valleys.", False),
    ("Glaciers are known for fast moving water.", True),          # the rivers' cell
    ("Rivers carry sediment downstream, while glaciers carve deep valleys.", False),   # each clause its own owner
    ("Rivers are better than glaciers at moving sediment downstream.", False),        # the compared-against is no subject
    ("Rivers carve deep valleys.", True),
])
def test_a_phrase_of_another_column_is_a_swap(sentence, swapped):
    assert bool(swapped_owner(sentence, owned_items(lines(TABLE_ROW)))) is swapped


def test_definitions_own_their_text():
    items = owned_items(lines("Basalt : dark volcanic rock with fine grains", "Granite : light intrusive rock with coarse grains"))
    assert swapped_owner("Basalt has coarse grains.", items)
    assert not swapped_owner("Basalt has fine grains.", items)


def test_one_owner_alone_owns_nothing_against_anyone():
    assert owned_items(lines("Basalt : dark volcanic rock")) == []


def test_sequences_are_read_from_lists_said_to_be_in_order_and_numbered_steps():
    kinds = [kind for kind, _ in sequences([STEPS])]
    assert sorted(kinds) == ["listed", "numbered"]


@pytest.mark.parametrize("sentence, numbered_as, wrong", [
    ("The stages in order are pulping, pressing and drying", None, False),
    ("The stages in order are pressing, pulping and drying", None, True),
    ("Pulping → Drying", None, True),                     # skips pressing
    ("Pack the sheets", 2, False),
    ("Ship them", 1, True),                               # step 3 written as step 1
])
def test_order_claims_match_the_notes(sentence, numbered_as, wrong):
    assert bool(order_error(sentence, [STEPS], numbered_as)) is wrong


def test_a_name_the_question_brings_is_no_support():
    from rag.claims import ClaimChecker
    from rag.text.tokenize import tokenize

    evidence = lines("Rivers carry sediment downstream")
    checker = ClaimChecker(evidence, "Do rivers and the Nile both carry sediment?", lambda s: set(tokenize(s.text)))
    assert not checker.check("Rivers and the Nile both carry sediment downstream [2.1].").supported
    assert checker.check("Rivers carry sediment downstream [2.1].").supported


@pytest.mark.parametrize("sentence, wrong", [
    ("LIDAR stands for light detection and ranging [2.1].", False),
    ("LIDAR stands for a laser scanner used by surveyors [2.1].", True),
    ("SEM stands for scanning electron microscopy and sample coating [2.1].", True),
    ("SEM은 scanning electron microscope의 약자입니다 [2.1].", False),
])
def test_an_expansion_must_spell_its_acronym(sentence, wrong):
    from rag.claim_structure import expansion_error

    assert bool(expansion_error(sentence)) is wrong
