"""Everyday and meeting English for the demo model: a seeded sentence generator.

No sentence corpus with a compatible licence is installable here, so the text is generated from
hand-written templates and word lists (this file is the whole source; it is the project's own
work, under the project's licence). Sentences are lower case, words and apostrophes only, with
numbers, times and dates spelled out the way a speaker says them, so that the transcript a model
learns is exactly what the synthetic voice speaks.

The split is by sentence: held-out sentences never occur in the training list.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
        "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
            "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
            "eighteenth", "nineteenth", "twentieth", "twenty first", "twenty second", "twenty third",
            "twenty fourth", "twenty fifth", "twenty sixth", "twenty seventh", "twenty eighth",
            "twenty ninth", "thirtieth", "thirty first"]


def number_words(n: int) -> str:
    """0..999999 as spoken American English ("three hundred and twelve" without "and")."""
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + number_words(rest))
    rest = n % 1000
    return number_words(n // 1000) + " thousand" + ("" if rest == 0 else " " + number_words(rest))


NAMES = ("anna ben carla david emma frank grace henry irene jack karen leo maria nina oscar paul rachel sam "
         "tina victor wendy alex chris daniel ella fiona george hannah ian julia kevin laura mike nora olivia "
         "peter sarah tom lucy mark james linda robert susan thomas helen richard amy steven lisa brian "
         "kate martin sophie eric claire adam jane simon ruth carlos priya ahmed mei yuki omar elena ivan "
         "marco aisha tariq sofia lars ingrid pablo rosa noah mia ethan zoe lily jacob").split()
DAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
MONTHS = ("january february march april may june july august september october november december").split()
PARTS_OF_DAY = ["in the morning", "in the afternoon", "in the evening", "at noon", "after lunch",
                "before lunch", "first thing tomorrow", "later today", "tonight", "early next week",
                "at the end of the week", "next month", "right after the break", "by the end of the day"]
TEAMS = ["design team", "sales team", "support team", "marketing team", "finance team", "legal team",
         "research group", "product team", "data team", "security team", "hiring committee", "board",
         "leadership team", "engineering team", "operations team", "customer success team", "quality team",
         "platform team", "mobile team", "web team"]
THINGS = [t.replace("_", " ") for t in (
    "budget report schedule proposal contract invoice roadmap slide_deck agenda presentation spreadsheet "
    "survey release_plan launch_date design_review test_plan hiring_plan press_release quarterly_review "
    "sales_forecast project_plan user_study status_update meeting_notes customer_feedback pricing_model "
    "travel_policy office_move training_session product_demo marketing_campaign annual_report safety_check "
    "server_upgrade database_migration code_review bug_report feature_request support_ticket onboarding_guide "
    "security_audit website_redesign mobile_app new_logo team_offsite holiday_party performance_review "
    "expense_report job_description interview_schedule vendor_list shipping_estimate delivery_date "
    "risk_assessment backup_plan style_guide content_calendar user_manual price_list press_kit test_results "
    "first_draft final_version summary timeline checklist floor_plan").split()]
PLACES = ["the " + p for p in (
    "office main_room kitchen lobby conference_room library train_station airport hotel cafe new_building "
    "second_floor parking_lot warehouse lab front_desk city_centre park hospital school bank post_office gym "
    "supermarket meeting_room_upstairs restaurant_down_the_street").replace("_", "~").split()]
PLACES = [p.replace("~", " ") for p in PLACES]
CITIES = ("london paris berlin madrid rome tokyo boston chicago seattle denver toronto sydney dublin "
          "amsterdam vienna prague lisbon oslo helsinki austin atlanta miami phoenix portland "
          "singapore mumbai cairo nairobi lima").split()
ADJ = ("good great important urgent simple difficult useful clear short long new old early late final "
       "quick careful detailed rough small big cheap expensive busy quiet strange nice helpful").split()
FEEL = ("happy glad sure sorry worried excited surprised tired ready curious confident nervous "
        "grateful").split()
VERB_BASE = ("send review update finish check share print sign approve discuss move cancel schedule "
             "prepare write read fix test change open close book plan order").split()
VERB_PAST = dict(send="sent", review="reviewed", update="updated", finish="finished", check="checked",
                 share="shared", print="printed", sign="signed", approve="approved", discuss="discussed",
                 move="moved", cancel="cancelled", schedule="scheduled", prepare="prepared", write="written",
                 read="read", fix="fixed", test="tested", change="changed", open="opened", close="closed",
                 book="booked", plan="planned", order="ordered")
FOODS = ("coffee tea pizza sandwiches salad soup pasta rice noodles cake cookies fruit bread eggs "
         "chicken fish tacos burgers apples oranges juice water").split()
WEATHER = ["it is raining", "it is very cold", "it is sunny", "it is windy", "it might snow", "the sun is out",
           "it is too hot", "there is a storm coming", "the roads are icy", "it is cloudy"]
HOBBIES = ("running cooking reading painting swimming hiking cycling gardening singing dancing "
           "climbing fishing sailing skiing writing photography chess tennis football music").split()
TECH = ("laptop phone camera microphone headset screen keyboard printer router charger speaker "
        "projector monitor tablet network password account calendar browser").split()
PROBLEMS = ("is not working", "keeps freezing", "is too slow", "will not turn on", "lost the connection",
            "needs an update", "is making a strange noise", "ran out of battery", "stopped responding",
            "is broken again")
ANIMALS = "dog cat horse bird rabbit fox bear duck goat cow sheep mouse owl".split()
COLORS = "red blue green yellow black white orange purple brown grey pink".split()
AMOUNT_UNITS = ["dollars", "euros", "pounds", "people", "minutes", "hours", "days", "weeks", "pages", "items",
                "percent", "tickets", "chairs", "users", "customers", "emails", "files", "boxes", "miles"]
OPENERS = ["", "", "", "", "", "", "", "", "so ", "okay ", "well ", "actually ", "right ", "um ", "alright ", "also ",
           "by the way ", "honestly ", "and ", "but ", "anyway ", "first of all ", "just to be clear ",
           "quick question ", "as i said ", "to be honest "]
CLOSERS = ["", "", "", "", "", "", "", "", "", "", " please", " if that works", " as soon as possible", " for now", " today",
           " again", " later", " if you can", " thanks", " right", " i think", " by friday", " this week",
           " before the meeting", " when you have a moment", " no rush"]


def _time_phrase(r: random.Random) -> str:
    h = r.randint(1, 12)
    m = r.choice([0, 0, 0, 15, 30, 45, 5, 10, 20, 40, 50])
    if m == 0:
        return f"{ONES[h] if h < 20 else number_words(h)} o'clock" if r.random() < 0.5 else number_words(h)
    if m == 30 and r.random() < 0.5:
        return f"half past {number_words(h)}"
    if m == 15 and r.random() < 0.5:
        return f"quarter past {number_words(h)}"
    if m < 10:
        return f"{number_words(h)} oh {number_words(m)}"
    return f"{number_words(h)} {number_words(m)}"


def _date_phrase(r: random.Random) -> str:
    k = r.random()
    if k < 0.4:
        return f"{r.choice(MONTHS)} {ORDINALS[r.randint(0, 30)]}"
    if k < 0.7:
        return f"the {ORDINALS[r.randint(0, 30)]} of {r.choice(MONTHS)}"
    if k < 0.85:
        return f"next {r.choice(DAYS)}"
    return f"this {r.choice(DAYS)}"


def _amount(r: random.Random) -> str:
    n = r.choice([r.randint(2, 20), r.randint(20, 100), r.randint(100, 1000), r.randint(1000, 90000),
                  r.choice([50, 100, 200, 500, 1000, 5000, 10000])])
    return f"{number_words(n)} {r.choice(AMOUNT_UNITS)}"


def _pl(word: str) -> str:
    """English plural of the nouns in the word lists ("fox" -> "foxes", "party" -> "parties")."""
    irregular = {"mouse": "mice", "sheep": "sheep", "fish": "fish", "person": "people", "child": "children"}
    if word in irregular:
        return irregular[word]
    if word.endswith("s"):
        return word
    if word.endswith(("x", "z", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and word[-2:-1] not in ("a", "e", "i", "o", "u"):
        return word[:-1] + "ies"
    return word + "s"


Template = Callable[[random.Random], str]


def _templates() -> list[Template]:
    c = random.Random.choice
    return [
        lambda r: f"can we move the {c(r, THINGS)} to {c(r, DAYS)} {c(r, PARTS_OF_DAY)}",
        lambda r: f"i will {c(r, VERB_BASE)} the {c(r, THINGS)} and {c(r, VERB_BASE)} it with {c(r, NAMES)}",
        lambda r: f"{c(r, NAMES)} already {VERB_PAST[c(r, VERB_BASE)]} the {c(r, THINGS)}",
        lambda r: f"has anyone {VERB_PAST[c(r, VERB_BASE)]} the {c(r, THINGS)} yet",
        lambda r: f"the {c(r, TEAMS)} needs the {c(r, THINGS)} by {_date_phrase(r)}",
        lambda r: f"let's meet at {_time_phrase(r)} in {c(r, PLACES)}",
        lambda r: f"the meeting starts at {_time_phrase(r)} on {c(r, DAYS)}",
        lambda r: f"could you {c(r, VERB_BASE)} the {c(r, THINGS)} for the {c(r, TEAMS)}",
        lambda r: f"i think the {c(r, THINGS)} looks {c(r, ADJ)} but the {c(r, THINGS)} needs more work",
        lambda r: f"we spent {_amount(r)} on the {c(r, THINGS)} last {c(r, ['week', 'month', 'year', 'quarter'])}",
        lambda r: f"the {c(r, THINGS)} is about {_amount(r)} over what we planned",
        lambda r: f"{c(r, NAMES)} and {c(r, NAMES)} are flying to {c(r, CITIES)} on {_date_phrase(r)}",
        lambda r: f"my {c(r, TECH)} {c(r, PROBLEMS)}",
        lambda r: f"sorry my {c(r, TECH)} {c(r, PROBLEMS)} can you hear me now",
        lambda r: "can everyone see my screen",
        lambda r: f"you are on mute {c(r, NAMES)}",
        lambda r: f"i am {c(r, FEEL)} about the {c(r, THINGS)}",
        lambda r: f"i am not sure we can {c(r, VERB_BASE)} the {c(r, THINGS)} before {_date_phrase(r)}",
        lambda r: f"who is going to take notes {c(r, ['today', 'this time', 'in the next meeting'])}",
        lambda r: f"let's take a {number_words(r.choice([5, 10, 15, 20]))} minute break",
        lambda r: f"the next item on the agenda is the {c(r, THINGS)}",
        lambda r: f"does anyone have questions about the {c(r, THINGS)}",
        lambda r: f"we have {_amount(r)} left for the rest of the {c(r, ['year', 'quarter', 'month', 'project'])}",
        lambda r: f"{c(r, NAMES)} will {c(r, VERB_BASE)} the {c(r, THINGS)} and {c(r, NAMES)} will "
                  f"{c(r, VERB_BASE)} the {c(r, THINGS)}",
        lambda r: f"please {c(r, VERB_BASE)} the {c(r, THINGS)} and send it to {c(r, NAMES)}",
        lambda r: f"what time is the call with the {c(r, TEAMS)}",
        lambda r: f"is the {c(r, THINGS)} still on track for {_date_phrase(r)}",
        lambda r: f"the {c(r, THINGS)} was {c(r, ADJ)} and the {c(r, TEAMS)} liked it",
        lambda r: f"we should ask the {c(r, TEAMS)} before we {c(r, VERB_BASE)} the {c(r, THINGS)}",
        lambda r: f"i had {c(r, FOODS)} and {c(r, FOODS)} for {c(r, ['lunch', 'dinner', 'breakfast'])}",
        lambda r: f"do you want some {c(r, FOODS)} before the meeting",
        lambda r: f"{c(r, WEATHER)} in {c(r, CITIES)} {c(r, ['today', 'this morning', 'again', 'all week'])}",
        lambda r: f"my {c(r, ['sister', 'brother', 'friend', 'neighbour', 'daughter', 'son', 'mother', 'father'])}"
                  f" loves {c(r, HOBBIES)} and {c(r, HOBBIES)}",
        lambda r: f"on weekends i usually go {c(r, ['running', 'hiking', 'cycling', 'swimming', 'fishing', 'sailing'])}"
                  f" with {c(r, NAMES)}",
        lambda r: f"the {c(r, COLORS)} {c(r, ANIMALS)} ran across {c(r, PLACES)}",
        lambda r: f"there are {_amount(r)} on the list",
        lambda r: f"we need {number_words(r.randint(2, 30))} more {c(r, ['chairs', 'people', 'laptops', 'rooms', 'tickets', 'volunteers'])}"
                  f" for the {c(r, THINGS)}",
        lambda r: f"can you remind me what we decided about the {c(r, THINGS)}",
        lambda r: f"the train to {c(r, CITIES)} leaves at {_time_phrase(r)}",
        lambda r: f"i will be out of the office from {_date_phrase(r)} to {_date_phrase(r)}",
        lambda r: f"thank you {c(r, NAMES)} that was a {c(r, ADJ)} {c(r, ['point', 'question', 'idea', 'update', 'summary'])}",
        lambda r: f"i agree with {c(r, NAMES)} on the {c(r, THINGS)}",
        lambda r: f"i do not agree that the {c(r, THINGS)} is {c(r, ADJ)}",
        lambda r: f"let me share the {c(r, THINGS)} with everyone",
        lambda r: f"we can talk about the {c(r, THINGS)} {c(r, PARTS_OF_DAY)}",
        lambda r: f"the {c(r, TEAMS)} will present the {c(r, THINGS)} on {c(r, DAYS)}",
        lambda r: f"how was your trip to {c(r, CITIES)}",
        lambda r: f"it takes about {number_words(r.randint(2, 59))} minutes to get to {c(r, PLACES)}",
        lambda r: f"the {c(r, THINGS)} has {number_words(r.randint(2, 99))} pages and {number_words(r.randint(2, 40))}"
                  f" pictures",
        lambda r: f"our sales went up by {number_words(r.randint(2, 60))} percent this {c(r, ['quarter', 'year', 'month'])}",
        lambda r: f"is {c(r, NAMES)} joining us {c(r, ['today', 'later', 'this afternoon', 'on the call'])}",
        lambda r: f"{c(r, NAMES)} is running a few minutes late",
        lambda r: f"i could not find the {c(r, THINGS)} in the shared folder",
        lambda r: f"where did you put the {c(r, THINGS)}",
        lambda r: f"the {c(r, TECH)} in {c(r, PLACES)} {c(r, PROBLEMS)}",
        lambda r: f"we will know more about the {c(r, THINGS)} after {c(r, DAYS)}",
        lambda r: f"let's wrap up and meet again on {_date_phrase(r)}",
        lambda r: f"the customer wants the {c(r, THINGS)} to be {c(r, ADJ)} and {c(r, ADJ)}",
        lambda r: f"please call me back at {_time_phrase(r)}",
        lambda r: f"my number is {' '.join(ONES[r.randint(0, 9)] for _ in range(r.randint(6, 9)))}",
        lambda r: f"the room number is {number_words(r.randint(100, 999))}",
        lambda r: f"have a {c(r, ADJ)} weekend everyone",
        lambda r: f"good {c(r, ['morning', 'afternoon', 'evening'])} {c(r, NAMES)} how are you",
        lambda r: f"i am {c(r, FEEL)} to hear that {c(r, NAMES)} {c(r, ['got the job', 'is back', 'finished the project', 'won the prize', 'moved to ' + c(r, CITIES)])}",
        lambda r: f"we hired {number_words(r.randint(2, 30))} new people in {c(r, MONTHS)}",
        lambda r: f"if we {c(r, VERB_BASE)} the {c(r, THINGS)} now we can {c(r, VERB_BASE)} the {c(r, THINGS)} later",
        lambda r: f"the {_pl(c(r, ANIMALS))} in the park are {c(r, ADJ)}",
        lambda r: f"{c(r, NAMES)} asked if the {c(r, THINGS)} is ready",
        lambda r: f"could you speak a little {c(r, ['louder', 'slower', 'closer to the microphone'])}",
        lambda r: f"i will follow up with {c(r, NAMES)} about the {c(r, THINGS)}",
        lambda r: f"the {c(r, THINGS)} should be {c(r, ADJ)} and easy to read",
        lambda r: f"we are still waiting for the {c(r, THINGS)} from the {c(r, TEAMS)}",
    ]


_CLEAN = re.compile(r"[^a-z' ]")
_A_BEFORE_VOWEL = re.compile(r"\ba (?=(?:[aeio]|u(?!s)|hour))")


def normalize(text: str) -> str:
    """Lower case, letters/apostrophes/single spaces only: the form the tokenizer and WER use."""
    return " ".join(_CLEAN.sub(" ", text.lower()).split())


def generate(n_train: int, n_test: int, seed: int) -> tuple[list[str], list[str]]:
    """``n_train`` and ``n_test`` distinct sentences; no test sentence is a training sentence."""
    r = random.Random(seed)
    templates = _templates()
    seen: set[str] = set()
    out: list[str] = []
    attempts = 0
    while len(out) < n_train + n_test:
        attempts += 1
        if attempts > 50 * (n_train + n_test):
            raise RuntimeError("the templates cannot make that many distinct sentences")
        body = r.choice(templates)(r)
        s = _A_BEFORE_VOWEL.sub("an ", normalize(r.choice(OPENERS) + body + r.choice(CLOSERS)))
        if s not in seen:
            seen.add(s)
            out.append(s)
    r.shuffle(out)
    return out[n_test:], out[:n_test]
