"""Words that frame a question rather than name its topic, and the shapes of words in a question (Korean, English).

Language knowledge shared by the answerability decision (rag/answerability.py), the slots (rag/slots.py) and the notes'
vocabulary (rag/vocabulary.py). Nothing here names a course's vocabulary.
"""
from __future__ import annotations

import re

# Words that start or glue English questions; a capitalised one at the start is not a name.
QUESTION_WORDS = frozenset(
    "what which who whom whose how why when where is are was were do does did can could should would will "
    "tell explain describe list name give compare please i in on at for according according to the a an "
    "and or but also vs versus by from of with url urls link links ai "
    # the notes' own languages: "The Korean notes say ..." names no topic
    "korean english hangul".split())


CONTRACTED = re.compile(r"['’](?:t|re|ve|ll|d|m)\b", re.IGNORECASE)   # not 's: "Apple's" is a name's


LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9+\-]*(?:\.[A-Za-z0-9]+)*")


NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


HANGUL = re.compile(r"[\uac00-\ud7a3]")


# Nouns that frame a Korean question rather than name its topic ("차이를 비교해 설명해줘"): never a gap.
# The first lines were written from general Korean question patterns, not from any gold item; the last two were
# added after reading dev false refusals ("얘기", "계기", "중간고사": gold_dev v2/v3; "대비", "기말", "마지막",
# "원래", "덕분": v5; "언급", "번호": v6/v7, with "표현", "목록", "나열", "장별"; "영어", "열": v10, with the notes'
# other languages and the parts of a table) and widened to their kind: talk about the talk, the course and the
# student's studies, and nouns that work like adverbs or quantifiers in a sentence.
KO_FRAME_NOUNS = frozenset("""
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
