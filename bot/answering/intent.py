"""What kind of answer a question wants, and which pieces of text tend to give it.

Shallow on purpose: a few patterns over the question's opening words, each steering sentence
choice with a bonus. They encode how people ask in English, not anything about one corpus.
"""

from __future__ import annotations

import re
from enum import StrEnum

from bot.answering.units import ITEM, ROW, Unit


class Intent(StrEnum):
    HOW = "how"  # how do we…, what should we do, how to prevent…
    WHY = "why"
    WHO = "who"  # who owns / approves / is responsible
    WHEN = "when"  # when, how often, how long, deadlines
    DEFINE = "define"  # what is X, what does X mean
    YESNO = "yesno"  # can we…, is it ok…, do we need…
    LIST = "list"  # what are the…, which…, steps, types of
    OTHER = "other"


_PATTERNS: list[tuple[Intent, re.Pattern[str]]] = [
    (
        Intent.WHO,
        re.compile(
            r"\bwho(m|se)?\b|\bwhich (team|group|person|role)\b|\bowner\b|\bowns\b|"
            r"responsible for|point of contact|\bcontact (for|about)\b|\baccountable\b"
        ),
    ),
    (
        Intent.WHY,
        re.compile(
            r"^\W*why\b|\bwhat'?s the (reason|point)\b|\breason (for|why)\b|"
            r"\bpurpose of\b|\bwhat for\b|\bhow come\b"
        ),
    ),
    (
        Intent.WHEN,
        re.compile(
            r"^\W*when\b|\bhow (often|long|soon|frequently|many (days|weeks|hours|months))\b|"
            r"\bdeadline\b|\bby when\b|\bfrequency\b|\bwhat time\b|\bhow much (notice|time)\b|"
            r"\bhow much heads up\b"
        ),
    ),
    (
        Intent.DEFINE,
        re.compile(
            r"\b(mean|means|stand for|stands for)\b|\bdefin(e|ition)\b|\bmeaning of\b|"
            r"\bin plain english\b|^\W*what('?s| is| are) (a|an)\b|"
            r"^\W*what('?s| is) (the )?[\w-]+( [\w-]+)?\W*$"
        ),
    ),
    (
        Intent.HOW,
        re.compile(
            r"\b(prevent|prevention|mitigat\w*|avoid|protect|defend|guard against|stop|"
            r"reduce the risk|detect|handle|deal with|respond to|recover|fix|remediat\w*)\b"
        ),
    ),
    (
        Intent.LIST,
        re.compile(
            r"^\W*(what|which) (are|were) (the|our|some|all)\b|\blist( of)?\b|\bsteps\b|"
            r"\btypes of\b|\bkinds of\b|\bexamples of\b|\bwhat .* (include|includes|involve)\b|"
            r"\broot causes\b|\bwhich \w+s\b"
        ),
    ),
    (
        Intent.YESNO,
        re.compile(
            r"^\W*(can|could|may|is|are|do|does|did|should|must|will|would|am|have|has|"
            r"need|is it ok|are we allowed)\b"
        ),
    ),
    (Intent.HOW, re.compile(r"^\W*how\b|\bwhat (should|do|must) (we|i)\b|\bsteps to\b")),
]


def question_intent(question: str) -> Intent:
    text = " ".join(question.lower().split())
    for intent, pattern in _PATTERNS:
        if pattern.search(text):
            return intent
    return Intent.OTHER


_HOW_HEADINGS = re.compile(
    r"(prevent|mitigat|defen[cs]|protect|remediat|recommend|best practice|guidance|how to|"
    r"what to do|steps|procedure|control|countermeasure|safeguard|response|process|checklist|"
    r"requirement|solution|fix|approach)",
    re.IGNORECASE,
)
_DESCRIPTIVE_HEADINGS = re.compile(
    r"(description|overview|example|scenario|attack|background|introduction|what is|"
    r"impact|definition|summary|context|symptom)",
    re.IGNORECASE,
)
_IMPERATIVE = re.compile(
    r"^(use|ensure|add|avoid|limit|validate|implement|apply|review|monitor|set|run|book|file|"
    r"ask|check|include|require|restrict|log|test|keep|enable|disable|define|document|train|"
    r"rotate|encrypt|sanitize|sanitise|filter|deploy|configure|separate|treat|verify|establish|"
    r"consider|follow|create|store|remove|block|grant|deny|notify|escalate|report|label|"
    r"isolate|enforce|adopt|maintain|assign|schedule|request|register|start|stop|contact|"
    r"send|open|make|do not|don't|never|always)\b",
    re.IGNORECASE,
)
_CAUSAL = re.compile(
    r"\b(because|so that|to ensure|to avoid|to prevent|in order to|reason|otherwise|since|"
    r"leads? to|results? in|caused|risk of|which means|this means|the point)\b",
    re.IGNORECASE,
)
_OWNER = re.compile(
    r"\b(owner|owned by|owns|runs|responsible for|led by|run by|accountable|approves?|approver|"
    r"sign[- ]?off|chair(s|ed)?|maintain(s|ed)? by|point of contact|contact)\b",
    re.IGNORECASE,
)
# Words that often sit near an owner but just as often do not ("their own team").
_OWNER_WEAK = re.compile(r"\b(own|lead|leads|team|responsible)\b", re.IGNORECASE)
_TIME = re.compile(
    r"(\d|\b(every|daily|weekly|monthly|quarterly|annually|yearly|each|before|after|within|"
    r"days?|weeks?|hours?|months?|years?|minutes?|deadline|until|by the|once|twice)\b)",
    re.IGNORECASE,
)
_DEFINITION = re.compile(
    r"\b(is|are) (a|an|the)\b|\brefers? to\b|\bmeans?\b|\bdefined as\b|\bstands? for\b|"
    r"\bis when\b|\bdescribes?\b",
    re.IGNORECASE,
)
_NORMATIVE = re.compile(
    r"\b(must|must not|may|may not|can|cannot|can't|not allowed|allowed|prohibited|required|"
    r"requires?|only|never|always|should|should not|forbidden|permitted|no)\b",
    re.IGNORECASE,
)


def intent_bonus(intent: Intent, unit: Unit) -> float:
    """How well a piece of text fits the kind of answer wanted (0 to ~0.35)."""
    text, heading = unit.text, unit.heading or ""
    bonus = 0.0
    if intent is Intent.HOW:
        if _HOW_HEADINGS.search(heading) or _HOW_HEADINGS.search(unit.lead):
            bonus += 0.25
        elif _DESCRIPTIVE_HEADINGS.search(heading):
            bonus -= 0.1
        if _IMPERATIVE.match(text):
            bonus += 0.1
    elif intent is Intent.WHY:
        bonus += 0.2 if _CAUSAL.search(text) else 0.0
    elif intent is Intent.WHO:
        bonus += 0.25 if _OWNER.search(text) else 0.1 if _OWNER_WEAK.search(text) else 0.0
    elif intent is Intent.WHEN:
        bonus += 0.2 if _TIME.search(text) else 0.0
    elif intent is Intent.DEFINE:
        bonus += 0.25 if _DEFINITION.search(text) else 0.0
    elif intent is Intent.YESNO:
        bonus += 0.15 if _NORMATIVE.search(text) else 0.0
    elif intent is Intent.LIST:
        bonus += 0.1 if unit.kind in (ITEM, ROW) else 0.0
    return bonus
