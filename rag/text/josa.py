"""Korean particles chosen for the word they follow: "세포설은", "GPU는", "Slurm은", "리보솜을", "H100과".

Templates write a particle pair ("은(는)", "이(가)", "을(를)", "와(과)", "(으)로"); ``fix_particles`` picks the form
the preceding word takes, read as a Korean reader says it: a Hangul syllable by its final consonant, a Latin acronym
by its letter names (GPU: 지피유 -> 는), a Latin word by its last sounds (Slurm -> 은), a digit by its name (100: 백 ->
은). Quotes, brackets and a parenthesised gloss after a word are skipped ("세포설 (cell theory)" -> 세포설).
"""
from __future__ import annotations

import re

# (form after a final consonant, form after a vowel), keyed by how templates write the pair
_PAIRS = {
    "은(는)": ("은", "는"), "는(은)": ("은", "는"),
    "이(가)": ("이", "가"), "가(이)": ("이", "가"),
    "을(를)": ("을", "를"), "를(을)": ("을", "를"),
    "과(와)": ("과", "와"), "와(과)": ("과", "와"),
    "이나(나)": ("이나", "나"), "(이)나": ("이나", "나"),
    "(으)로": ("으로", "로"), "으로(로)": ("으로", "로"),
    "이라고(라고)": ("이라고", "라고"), "(이)라고": ("이라고", "라고"),
}
_PAIR = re.compile("(" + "|".join(re.escape(p) for p in sorted(_PAIRS, key=len, reverse=True)) + ")")

# final consonant of each letter's Korean name (ㄹ kept apart: "(으)로" takes 로 after it); "" = ends in a vowel
_LETTER_FINAL = {"l": "ㄹ", "m": "ㅁ", "n": "ㄴ", "r": "ㄹ"}      # 엘, 엠, 엔, 알; the other letter names end in vowels
_DIGIT_FINAL = {"0": "ㅇ", "1": "ㄹ", "3": "ㅁ", "6": "ㄱ", "7": "ㄹ", "8": "ㄹ",
                "2": "", "4": "", "5": "", "9": ""}                  # 영 일 이 삼 사 오 육 칠 팔 구
_TENS = {2: "ㅂ", 3: "ㄴ", 4: "ㄴ"}                                 # 십, 백, 천, 만: "10" 십 / "100" 백 / "1000" 천 / "10000" 만
# sub- and superscript digits are read as the digit: "CO₂" 씨오투, "m²" 제곱미터 (a vowel either way)
_SCRIPT_DIGITS = str.maketrans("₀₁₂₃₄₅₆₇₈₉⁰¹²³⁴⁵⁶⁷⁸⁹", "01234567890123456789")
_SKIP_TAIL = re.compile(r"(?:\s*\([^()]*\)|['\"’”」』)\]`\s*])+$")


def final_consonant(word: str) -> str | None:
    """The final consonant a Korean reader hears at the end of ``word`` ("" for a vowel), or None when unknown."""
    word = _SKIP_TAIL.sub("", word.strip()).translate(_SCRIPT_DIGITS)
    if not word:
        return None
    last = word[-1]
    if "가" <= last <= "힣":
        index = (ord(last) - 0xAC00) % 28
        return "" if index == 0 else ("ㄹ" if index == 8 else "ㅇ" if index == 21 else "other")
    if last in "0123456789":        # not str.isdigit: true of digits of other scripts, which have no reading here
        digits = re.search(r"\d+$", word).group(0)
        zeros = len(digits) - len(digits.rstrip("0"))
        if zeros and digits.rstrip("0"):
            return _TENS.get(min(zeros + 1, 4) if zeros < 4 else 4, "ㄴ")
        return _DIGIT_FINAL[last]
    if last.isascii() and last.isalpha():
        token = re.search(r"[A-Za-z]+$", word).group(0)
        if token.isupper() or len(token) == 1:        # an acronym is read letter by letter: GPU -> 유
            return _LETTER_FINAL.get(token[-1].lower(), "")
        return _english_final(token.lower())
    return None


def _english_final(word: str) -> str:
    """The last sound of an English word as Korean writes it: "slurm" 슬럼 (ㅁ), "kernel" 커널 (ㄹ), "cache" 캐시."""
    if word.endswith(("ng",)):
        return "ㅇ"
    if word.endswith(("l", "le")):
        return "ㄹ"
    if word.endswith(("m", "n")):
        return "other"
    # a silent e after m or n: "time" 타임, "line" 라인, "one" 원 end in that consonant
    if re.search(r"[aeiouy](?:m|n)e$", word):
        return "other"
    # a final b/d/g/k/p/t/c(k) sound takes a vowel in Korean spelling (카드, 잡 -> 잡 is rare); treat stops after
    # a short vowel as 받침 (잡, 팩, 넷), others as vowel endings
    if re.search(r"[aeiou](?:p|t|k|ck|c)$", word):
        return "other"
    return ""


def choose(word: str, pair: str) -> str:
    with_final, without = _PAIRS[pair]
    final = final_consonant(word)
    if final is None:
        return pair
    if pair in ("(으)로", "으로(로)"):
        return without if final in ("", "ㄹ") else with_final
    return with_final if final else without


def fix_particles(text: str) -> str:
    """Replace every particle pair in ``text`` by the form the word before it takes."""
    def replace(match: re.Match) -> str:
        before = text[max(0, match.start() - 120):match.start()]
        if not before.strip() or before[-1].isspace():
            return match.group(0)
        return choose(before, match.group(1))   # the end of the text before decides, past quotes and glosses
    return _PAIR.sub(replace, text)
