"""The crisis screen against the project's corpus: every risk statement caught, few benign ones flagged."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest

from bot.flows.errors import FlowLoadError
from bot.flows.yaml_source import load_yaml
from bot.safety import Safety, load_safety, normalise
from bot.safety.assessment import Level
from bot.safety.loading import QUESTION_KEPT_UNDER_WORDS, word_count
from bot.safety.normal import letters_never_read
from bot.safety.screen import KEPT, within_a_sentence
from tools.denial_patterns import WORDS, pattern

ROOT = Path(__file__).resolve().parents[2]
CORPUS = load_yaml((Path(__file__).parent / "corpus.yaml").read_text(encoding="utf-8")).value
MAX_FALSE_ALARM_RATE = 0.05


@pytest.fixture(scope="module")
def safety() -> Safety:
    return load_safety(ROOT / "conversations")


def test_the_corpus_is_big_enough() -> None:
    assert len(CORPUS["risk"]) >= 60
    assert len(CORPUS["benign"]) >= 60


def test_every_risk_statement_is_caught_and_few_benign_ones_are_flagged(safety: Safety) -> None:
    missed = [text for text in CORPUS["risk"] if not safety.screen.flags(text)]
    false_alarms = [text for text in CORPUS["benign"] if safety.screen.flags(text)]
    caught_rate = 1 - len(missed) / len(CORPUS["risk"])
    false_rate = len(false_alarms) / len(CORPUS["benign"])
    print(
        f"\ncrisis screen: caught {caught_rate:.1%} of {len(CORPUS['risk'])} risk statements, "
        f"flagged {false_rate:.1%} of {len(CORPUS['benign'])} benign look-alikes"
    )
    assert missed == []
    assert false_rate <= MAX_FALSE_ALARM_RATE, false_alarms


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("I’m   going  to  DIE", "i'm going to die"),
        ("im gonna", "i'm going to"),
        ("k\u200bill\tnow", "kill now"),
        ("kill myself.", "kill myself ."),
        # Letters held down, on the words the screen knows (its patterns' words among them); others stay.
        ("i wanna dieeeee", "i want to die"),
        ("kiiiill myselffff", "kill myself"),
        ("sooooo tired", "so tired"),
        ("ughhhh fine", "ughhhh fine"),
        # A risk word broken by a mark is joined again; any other hyphenated word is split as before.
        ("ki-ll my.self", "kill myself"),
        ("su-icide", "suicide"),
        ("well-being", "well being"),
        # Any word the patterns are written with, held down, broken up or starred (in any language); a laugh
        # of one letter stays as typed.
        ("the rooooftop at wooork", "the rooftop at work"),
        ("хоооочу сдохнуть", "хочу сдохнуть"),
        ("ideas de s*icidio", "ideas de suicidio"),
        ("i'm so a.shamed", "i'm so ashamed"),
        ("no-one came", "no one came"),
        ("kkkkk morri de rir", "kkkkk morri de rir"),
        # Letters from another script or a styled alphabet.
        ("і wаnt tо dіе", "i want to die"),
        ("🅸 🆆🅰🅽🆃 🆃🅾 🅳🅸🅴", "i want to die"),
        ("kiłł myself", "kill myself"),
        ("kıl payı", "kıl payı"),  # Turkish: the dotless "ı" is a letter of its own, "kıl" no "kill"
        # Enclosing marks, zalgo (one of its marks folds into a Greek letter), a blank Hangul letter.
        ("k\u20ddi\u20ddl\u20ddl\u20dd", "kill"),
        ("ki\u0345ll my\u0345self", "kill myself"),
        ("ki\u3164ll", "kill"),
        # Digits for letters held down, or in another language's words (a Russian word gets Russian letters).
        ("k1llll myself", "kill myself"),
        ("ich will st3rb3n", "ich will sterben"),
        ("п0к0нчить с с0б0й", "покончить с собои"),
        ("qu¡ero mor¡r", "quiero morir"),
        # Never an abbreviation, initials or an insult read as an alarming word.
        ("that's odddd", "that's odddd"),
        ("kyssss och kram", "kyssss och kram"),
        ("one tablet o.d.", "one tablet o d ."),
        ("a sl*t", "a sl * t"),
        # A held-down letter is never doubled into a risk word; a single one may be ("killlll": "kil", "kill").
        ("my nooooose is stuffy", "my nose is stuffy"),
        ("killlll myself", "kill myself"),
        ("pillllls", "pills"),  # doubled into a risk word when no single reading is a word
        ("sooon", "soon"),
        ("i wannnna die", "i want to die"),
        ("ki11myself", "kill myself"),
        # Regional-indicator letters that name no row of flags, parenthesised letters, "1" for "l", a star for
        # each letter of a risk word, marks inside a Russian word, "3" for "е", short words in digits.
        ("🇰🇮🇱🇱 🇲🇾🇸🇪🇱🇫", "kill myself"),
        ("⒦⒤⒧⒧", "kill"),
        ("ki11 myse1f", "kill myself"),
        ("s*****e", "suicide"),
        ("i feel like s***", "i feel like s * * *"),  # one letter showing: a swear word as often as not
        ("хочу у.м.е.р.е.т.ь", "хочу умереть"),
        ("хочу ум3р3ть", "хочу умереть"),
        ("i w4nt t0 d13", "i want to die"),
    ],
)
def test_normalising_handles_case_quotes_spaces_and_spellings(safety: Safety, written: str, expected: str) -> None:
    assert normalise(written, safety.screen.spellings, safety.screen.words) == expected


def test_helplines_name_988_findahelpline_and_an_emergency_number(safety: Safety) -> None:
    lines = safety.lines_for("US")
    contacts = " ".join(f"{line.name} {line.contact} {line.url}" for line in lines)
    assert "988" in contacts and "findahelpline.com" in contacts
    assert safety.emergency_number("US") == "911"
    assert all(line.verified for line in lines)


@pytest.mark.parametrize(
    "answer",
    [
        "yes",
        "no",
        "idk",
        "nothing",
        "7",
        "ok",
        "hello",
        "not sure",
        "Disappointed",
        "😞 Disappointed",
        "skip",
        "thanks",
        "Start earlier and ask for help sooner",
        "Ask my manager for a check-in on Friday",
        "I missed the deadline at work and my manager was upset",
        "Email Dana about the report on Monday",
    ],
)
def test_everyday_answers_to_a_flow_are_never_flagged(safety: Safety, answer: str) -> None:
    assert safety.assess(answer).level.name == "NONE"


@pytest.mark.parametrize(
    "quiet",
    [
        "my ex threatened to come and kill us all if i take the kids",
        "honestly i'm sick of existing",
        "lost the will to keep going after the layoff",
        "sometimes i wonder if i deserve to be alive",
        "death seems peaceful compared to this week",
        "i don't see myself living past this year",
        "my teacher noticed my wrists in pe today",
        "did 200 sit ups because i ate a sandwich",
        "please take care of my dog for me",
        "you won't have to worry about me anymore",
        "ich bin so müde vom leben",
        "wozu soll ich morgen überhaupt noch aufstehen",
        "quiero dormir y no despertar nunca",
        "j'ai pris trop de cachets",
        "cortei o braço de novo",
        "я просто обуза",
        "who feeds my rabbit if anything happens to me? need it sorted by the weekend",
        "wiping my facebook tonight so nobody reads through it after",
        "planning it for when my parents are on holiday",
        "finally got all my tablets together in one place",
        "he keeps saying i'll regret leaving him",
        "honestly i could lay down and never get up again",
        "kind of a farewell tour this week, seeing everyone once",
        "si mañana no respondo más, gracias por todo",
        "já pensei como vou fazer",
        "ojalá me atropelle un camión mañana",
        "me tomé todas las pastillas de mi abuela",
        "ich will einpennen und nie mehr aufwachen",
        "ya skoro ub'ju sebya",
        "снова навредил себе вечером",
        "made my cousin the beneficiary on the policy before friday",
        "labelled all the boxes for whoever has to go through my stuff",
        "rang my aunt, didn't want to leave with anything unsaid",
        "my sister can have my records after.",
        "nine months clean till last night, blew it over a stupid text",
        "was clean since january. lost my streak tonight",
        "what honestly is the point anymore",
        "keep picturing getting run over on the walk home and it feels like a relief",
        "half hoping i get knocked down by a lorry tomorrow",
        "i hope, not gonna lie, that my heart just stops tonight",
        "the fear foods list got longer again this week",
        "ana voice won again, skipped dinner",
        "my stepdad shoved my little sister so hard she hit the radiator",
        "going to do it once mum leaves for her night shift, nobody home till 8",
        "kept blacking out at training and told coach it was the heat",
        "hiding how thin i am under two jumpers",
        "my ex has been checking my phone location every night",
        "bauch ist noch nicht flach genug, also weiterhin hungern bis freitag",
        "mon beau-père a dit que si je raconte quoi que ce soit il me tue",
        "le prof de guitare m'a coincée après le cours, personne ne me croira",
        "j'ai trouvé le toit de l'immeuble d'à côté, la nuit il n'y a personne",
        "vendi a moto pro vizinho, nao vou mais usar",
        "tô escondendo os comprimidos da minha mãe, dois por dia, ninguém sabe",
        "gave my bike to my cousin and told everyone i was moving away. i'm not",
        "sold the car, said i'm moving out. i'm not actually moving",
        "everyone's wishing me luck with the move. there's no move for me",
        "writing a letter to my brother so he doesn't blame himself",
        "left a note on the fridge so mum won't feel guilty",
        "set up the direct debits for after i'm gone",
        "showed my sister where the spare keys are, for once i'm not around",
        # Plain statements with nothing around them (fourteenth session, own phrasings).
        "i can't go on",
        "honestly i cannot carry on anymore.",
        "cant keep on like this",
        "it all ends tonight",
        "so this ends today",
        "see ya on the other side",
        "please forgive me",
        "forgive me. all of you",
        "i drank bleach",
        "thinking about drinking antifreeze tonight",
        "swallowed some rat poison an hour ago",
        "i poisoned myself",
        "pls just make it stop",
        "i feel so hopeless and alone",
        "im trapped.",
        "nothing is ever going to get better",
        "it'll never get any better",
        "cant take it anymore 😔",
        "i cnt go on anymore tbh",
        "its never gonna get better",
        "c u on the other side",
        "tonight it all ends.",
        "forgive me x",
        "feeling trapped and hopeless 😞",
        "je n'en peux plus.",
        "c'est sans espoir",
        "cette nuit tout s'arrête 😔",
        "pardonne-moi pour tout",
        "ich fühle mich so hoffnungslos",
        "heute nacht ist alles vorbei",
        "verzeiht mir alle",
        "me siento tan sin esperanza",
        "perdónenme todos",
        "me perdoem por tudo",
        "мне так безнадёжно",
        "этой ночью всё закончится",
        "простите меня все",
        "i keep dragging my family down",
        "im just dead weight to everyone",
        "the ed thoughts are winning again",
        "ana brain is screaming rn",
        "this is the last time ill talk to you. thank you for everything",
        "just tying up loose ends tbh",
        "its been a good run i guess",
        "it was a good run. take care of yourselves",
        "thanks for putting up with me all these years",
        "thank u all for putting up with me 🖤",
        "when you think about me, think of the good days",
        "no more tomorrows for me",
        "pls tell my mum i'm sorry",
        "u should tell my therapist i said thank you",
        "tell my therapist she tried her best",
        "signing off. it's been real",
        "it's been a good run. look after her for me",
        "thank you for always putting up with me",
        "thanks for putting up with me all this time",
    ],
)
def test_quiet_signs_get_at_least_the_question_from_the_patterns_alone(safety: Safety, quiet: str) -> None:
    assert safety.screen.verdict(quiet).level >= Level.POSSIBLE


@pytest.mark.parametrize(
    "everyday",
    [
        "i'm tired of living in this tiny flat",
        "can you take care of my cat for me while i'm in lisbon",
        "ran 5k on an empty stomach, breakfast after",
        "death of the author is such a boring essay topic",
        "he threatened to report us to the landlord",
        "deleting my twitter after twelve years, the place changed",
        "going to take myself out for sushi after this exam",
        "my boss said i'll regret not taking the course",
        "me tomé 2 ibuprofenos para la cabeza",
        "whoever has to sort the printer jam next gets a medal",
        "four years clean from cutting and proud of it",
        "3 years clean from cutting and i never relapsed once",
        "two years free from self harm, i threw away my blades back then",
        "a year clean off alcohol and i broke my 5k record today",
        "it's been 8 months since i relapsed and cut myself, so proud",
        "kept the kitchen clean for the party, then the kids ruined it",
        "what exactly is the point of your question",
        "there's no point in carrying on arguing about it",
        "i hope i don't get hit by a car cycling in this rain",
        "praying we avoid getting hit by the storm",
        "hoping i get hit on at the bar tonight",
        "that episode hit me so hard",
        "the baby kicked me so hard last night",
        "i'll do it when the kids are asleep",
        "been passing out flyers all day",
        "passed out again on the couch watching netflix",
        "google is tracking my location again",
        "healing fast, two weeks since surgery, still a bit dizzy",
        "Mia voice-noted me the address",
        "ton cadeau, il m'a touchée, merci",
        "j'ai vu johnny depp au café, personne ne me croira",
        "on fait le pont vendredi, il n'y a personne au bureau",
        "damit die kinder nicht weiter hungern müssen",
        "não vou mais usar o instagram",
        "guardo os comprimidos da semana numa caixinha separada por dia",
        "told my boss i was moving to the berlin office, i'm not sure he believed me",
        "said i'm moving out in june, i'm not renewing the lease",
        "left my flatmate a note so she doesn't feel guilty about the broken mug",
        "once i'm gone to lisbon the plants need water twice a week",
        "after i'm not around the office anymore, who orders the coffee",
        "i can't go on holiday this year, no leave left",
        "we can't go on with the project until legal signs off",
        "the sale ends tonight so i bought the boots",
        "it ends with a twist you won't see coming",
        "see you on the other side of the exams",
        "forgive me for the late reply",
        "forgive me if this is long",
        "cleaned the whole bathroom with bleach",
        "took the poison ivy cream back to the pharmacy",
        "make it stop raining please",
        "i'm hopeless at cooking",
        "i feel hopeless about this exam but i'll try",
        "it will get better, my therapist says so",
        "my handwriting will never get better than this",
        "it all ends tonight 🍿 season finale",
        "it ends tonight, the final episode!!",
        "it's over tonight, last exam",
        "i feel hopeless, i failed the exam again",
        "my legs can't go on, 20k done",
        "my dog ate rat poison 😭 at the vet now",
        "the toddler drank bleach, calling 111",
        "took the weed killer back to the shop",
        "je n'en peux plus de ce boulot, vivement vendredi",
        "ce soir c'est la fin du festival",
        "ich fühle mich hoffnungslos, die prüfung war echt schlimm",
        "heute abend ist es vorbei mit dem projekt, endlich",
        "perdóname por llegar tarde",
        "me perdoa pela demora na resposta",
        "простите меня за опоздание",
        "сегодня всё закончится, последний экзамен",
        "my bad form is dragging the team down",
        "im dragging everyone down with my bad jokes lol",
        "the critic says im dead weight on the team",
        "ed sheeran's thoughts on the album are loud",
        "last time i'm going to use this app, it's useless",
        "final time ill be using this before the update, thanks for the tips",
        "tying up loose ends at work before my holiday",
        "spent the day at work tying up loose ends",
        "sorting dad's estate, tying up the loose ends with the solicitor",
        "i'm dragging everyone down to the beach tomorrow",
        "i'm dead weight without coffee lol",
        "ana head back home after the match?",
        "last time i'll use this before my exams, thank you so much",
        "its been a good run, closing the shop after 20 years",
        "the show had a good run, 6 seasons is plenty",
        "it was a good run for our team this season",
        "thanks for putting up with me this weekend, your couch is great",
        "thank you for putting up with me while i was ill",
        "thanks for putting up with my ranting lol",
        "when you think about me, do you think im lazy?",
        "i need to tell my mum thanks for the cake",
        "next step: tell my manager thank you for the feedback",
        "signing off for the night, talk tomorrow",
        "signing off the invoices was fun",
        "it's been a good run at uni, graduating friday",
        "it's been a good run, my old dog is getting put down tomorrow",
        "thanks for putting up with me at work all these years, retiring friday",
        "thanks for putting up with me. i'm moving to canada",
        "no more tomorrows for this show, the finale aired",
        "can someone tell my landlord sorry about the noise",
        "signing off, it's been real, see you all at the reunion",
    ],
)
def test_look_alikes_of_the_quiet_signs_pass(safety: Safety, everyday: str) -> None:
    assert safety.screen.verdict(everyday).level is Level.NONE


@pytest.mark.parametrize(
    "statement",
    [
        "nobody would notice if i died",
        "nobody would care if im gone",
        "nobody would care if i went through with it",
        "noone would care if i offed myself",
        "nobody would even notice if i stopped being around",
        "i wont be around much longer",
        "i wont be around much longer. moving on",
        "i won't be around much longer, i'm moving to a better place",
        "i wont be around much longer, going on a one way trip",
        "i wont be around much longer, not moving to a new city or anything, i just wont be here",
        "im not suicidal, just tired of being alive",
        "i dont want to kill myself, i just want the pain to stop",
        "im not suicidal im just. tired. of being. alive.",
        "i'd never kill myself, i just think about it all the time",
        "im not suicidal, just have the razor next to me",
        "i cant promise im not going to kill myself, just so you know",
        "i told my therapist im not suicidal, just tired. it was a lie",
        "i'm not going to hurt myself, just gonna take all my pills and sleep",
        "nobody would care if something happened to me",
        "nobody would even notice if i didn't come back",
        "nobody would care if i stopped trying to stay alive",
        "i won't be around anymore after tonight, i'm moving on",
        "i won't be around much longer, moving away from this world",
        "im not suicidal, just done",
        "not suicidal just want out",
        "i wont kill myself, just not tonight",
        "im not suicidal just disappointed i woke up again",
        "im not suicidal, just saying my goodbyes",
        "nobody would notice if i skipped my meds for a month",
        "nobody would notice if i stopped going to therapy and just disappeared",
        "won't be around anymore, moving away, please look after my dog for me",
        "im not suicidal just accidentally swallowed a whole strip of my zopiclone idk what to do",
        "i'm not suicidal just overwhelmed. i have the tabs lined up on the desk tho",
        "i've got 60 paracetamol in my drawer. i'm not suicidal just anxious",
        "my gp asked and i said no, i'm not suicidal, just stressed. i lied",
        "im not gonna kill myself just exhausted. not yet anyway",
        "im not suicidal just sick and tired of everything",
        "ich will mich nicht umbringen, bin nur müde von allem",
        "no tengo ganas de matarme, solo estoy triste. por ahora",
        "no soy suicida, solo estoy lista para irme",
        "ich bin nicht suizidal, nur fertig mit allem",
        "je vais pas me tuer, juste pas ce soir",
        "nao sou suicida, so to pronta pra ir",
        "я не суицидник, просто устала от жизни",
        "no voy a matarme, solo quiero desaparecer",
        "ich will mich nicht umbringen, ich will nur nicht mehr leben",
        "je suis pas suicidaire, juste envie de disparaitre",
        "nao vou me matar, so queria sumir",
        "я не хочу убить себя, просто хочу чтобы боль прошла",
        "im not suicidal just tired 🔫",
        "ich will mich nicht umbringen, bin nur müde 🔪",
    ],
)
def test_risk_beside_a_denial_or_a_reason_keeps_the_full_reply(safety: Safety, statement: str) -> None:
    assert safety.screen.verdict(statement).level is Level.CLEAR


@pytest.mark.parametrize(
    "said",
    [
        "not thinking of hurting myself, just sad and sorry for myself",
        "i would never hurt myself, i just feel stupid",
        "i won't hurt myself, just sad",
        "im not suicidal lol just tired",
        "im not suicidal... just sad",
        "i'd never hurt myself, i'm only exhausted",
        "honestly im not suicidal, just exhausted from work",
        "i'm not suicidal, i swear, just tired",
        "no thoughts of self harm, just really low",
        "no tengo pensamientos de hacerme daño, solo estoy agobiada",
        "ich bin nicht suizidal, nur gestresst wegen der prüfung",
        "je vais pas me tuer t'inquiete, juste saoulée",
        "não vou me matar, só to cansada",
        "я не собираюсь убивать себя, просто устала",
        "je suis pas suicidaire, juste crevée",
        "im not suicidal just tired 😞",
    ],
)
def test_a_message_that_is_only_a_denial_and_a_plain_feeling_does_not_get_the_full_reply(
    safety: Safety, said: str
) -> None:
    assert safety.screen.verdict(said).level is Level.NONE


def test_the_denial_patterns_are_the_ones_tools_denial_patterns_builds() -> None:
    rules = load_yaml((ROOT / "conversations" / "safety" / "screen.yaml").read_text(encoding="utf-8")).value
    benign = {"en": rules["benign"]} | {code: language["benign"] for code, language in rules["languages"].items()}
    for code, words in WORDS.items():
        assert pattern(words) in benign[code], f"{code}: run python -m tools.denial_patterns"


@pytest.mark.parametrize(
    "statement", ["i can't go on", "gonna drink antifreeze", "i feel so hopeless", "see u on the other side lol"]
)
def test_a_patterns_question_on_a_short_message_stands_whatever_the_readers_say(warm: Safety, statement: str) -> None:
    normal = warm.screen.normal(statement)
    assert warm.screen.verdict(statement).level is Level.POSSIBLE
    assert word_count(normal) < QUESTION_KEPT_UNDER_WORDS
    blend = warm.readers.blend
    assert blend is not None
    sure_it_is_harmless = dataclasses.replace(blend, withdraw_below=1.0)
    readers = dataclasses.replace(warm.readers, blend=sure_it_is_harmless)
    assert dataclasses.replace(warm, _readers=readers).assess(statement).level is Level.POSSIBLE


def test_a_patterns_question_on_a_longer_message_may_still_be_withdrawn(warm: Safety) -> None:
    story = "honestly what's the point of revising tonight when they moved the exam again lol"
    assert warm.screen.verdict(story).level is Level.POSSIBLE
    assert word_count(warm.screen.normal(story)) >= QUESTION_KEPT_UNDER_WORDS
    blend = warm.readers.blend
    assert blend is not None
    for cut, level in ((1.0, Level.NONE), (0.0, Level.POSSIBLE)):
        readers = dataclasses.replace(warm.readers, blend=dataclasses.replace(blend, withdraw_below=cut))
        assert dataclasses.replace(warm, _readers=readers).assess(story).level is level


@pytest.mark.parametrize("soup", ["a b c d e f", "0:0:0:C:L:N", "x y z . q r", "1 2 3 4 5 6"])
def test_letter_soup_is_left_to_the_patterns(warm: Safety, soup: str) -> None:
    assert warm.assess(soup).level is Level.NONE


@pytest.fixture(scope="module")
def warm() -> Safety:
    """A screen of its own with every learned reader loaded (the shared one stays cold)."""
    found = load_safety(Path(__file__).resolve().parents[2] / "conversations")
    assert found.wait_ready(60)
    return found


@pytest.mark.parametrize(
    "said",
    [
        "он меня бьёт",
        "отец меня бьет когда выпьет",
        "меня бьют дома",
        "парень меня опять ударил",
        "ударила меня при детях",
        "он поднял на меня руку",
        "муж швырнул меня об стену",
        "он толкнул меня с лестницы",
        "он грозится меня убить если уйду",
        "mein vater verprügelt mich",
        "er hat mich wieder verprügelt",
        "sie ohrfeigt mich vor allen",
        "меня мой отчим каждый день бьет",
        "меня побил отчим",
        "муж опять ударил и забрал телефон",
        "в детстве меня бил отец, теперь бьет муж",
        "отец бил меня в детстве и бьет до сих пор",
        "меня в детстве били, и муж меня бил вчера",
        "он бьет меня током",
        "он схватил мяч и ударил меня",
        "он тащил меня за волосы",
        "мама меня лупит",
        "он пригрозил убить меня",
        "muzh menya b'yot",
        "er haut mich",
        "er pruegelt mich",
        "er zieht mich an den haaren",
    ],
)
def test_violence_against_the_writer_is_caught_in_either_word_order(safety: Safety, said: str) -> None:
    verdict = safety.screen.verdict(said)
    assert verdict.level is Level.CLEAR
    assert "abuse" in verdict.topics


@pytest.mark.parametrize(
    "said",
    [
        "меня бьет дрожь перед экзаменом",
        "вчера меня ударило током от чайника",
        "отец бил меня в детстве, сейчас все нормально",
        "мяч ударил меня в лицо на тренировке лол",
        "он меня не бьет, просто кричит иногда",
        "он побил мой рекорд в игре",
        "меня толкнули в метро",
        "меня в детстве били, теперь я психолог",
        "в шахматы он меня всегда бьет",
        "этот босс в доте меня постоянно бьет",
        "подругу бьет муж, что делать",
        "кот меня бьет лапой",
        "малыш пинается и бьет меня изнутри",
        "подруга ударила меня подушкой лол",
        "в фильме муж бьет жену",
        "мама грозится убить меня если я не уберусь лол",
        "цены бьют меня по карману",
        "брат меня обыграл и побил",
        "er schlug mich im tennis",
        "mein sohn hat mich im mario kart verprügelt",
        "das haut mich um",
        "das baby tritt mich",
    ],
)
def test_shivers_games_films_pets_play_and_a_childhood_long_past_are_not_violence(safety: Safety, said: str) -> None:
    assert safety.screen.verdict(said).level is not Level.CLEAR


def test_letters_the_screen_never_reads_are_found_and_escapes_are_not_letters() -> None:
    assert letters_never_read(r"закрылась в ванной\b") == {"й": "и"}
    assert letters_never_read(r"\bшёл\W+straße") == {"ё": "е", "ß": "ss"}
    assert letters_never_read(r"\bjusqu'a (ce|ça)\b") == {"ç": "c"}
    assert letters_never_read(r"\bMe\b") == {"M": "m"}
    assert letters_never_read(r"\bdon't\W+\w+\s+\S\B\d") == {}
    assert letters_never_read(r"caf\u00e9|caf\N{LATIN SMALL LETTER E WITH ACUTE}") == {"é": "e"}
    assert letters_never_read("cafe\u0301") == {"\u0301": ""}
    # Comments, group names, classes and patterns that ignore case are not letters the screen must read.
    assert letters_never_read(r"(?#Kept, Ça)(?P<Verb>die)(?P=Verb)[A-Zà]") == {}
    assert letters_never_read(r"(?i)Kill") == {}


def test_a_pattern_that_cannot_match_as_written_is_reported_at_its_line(tmp_path: Path) -> None:
    copy = tmp_path / "conversations"
    shutil.copytree(ROOT / "conversations", copy)
    screen = copy / "safety" / "screen.yaml"
    lines = screen.read_text(encoding="utf-8").splitlines(keepends=True)
    at = next(number for number, line in enumerate(lines) if "|прыгну с" in line and "|прыгнуть с" in line)
    lines[at] = lines[at].replace("прыгну с", "прыгну с балкона в ванной", 1)
    screen.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(FlowLoadError) as raised:
        load_safety(copy)
    (error,) = raised.value.errors
    assert str(error).startswith(f"{error.file}:{at + 1}: ")
    assert "'й' (read as 'и')" in str(error)
    assert "cannot match as written" in str(error)


def test_no_pattern_of_another_language_holds_a_word_the_english_spellings_rewrite() -> None:
    # The spellings apply to every message, so German "im" is read as "i'm": a German pattern must say "i'm".
    # A whole word only: "suicid(io|a)", "(re)?coupe" or "suicid\\w*" go on into more letters; the spellings
    # rewrite only whole words.
    rules = load_yaml((ROOT / "conversations" / "safety" / "screen.yaml").read_text(encoding="utf-8")).value
    rewritten = {normalise(typed, {}) for typed, meant in rules["spellings"].items() if typed != meant}
    named = rules["sentence_exclusions"]
    clashes = []
    for code, language in rules["languages"].items():
        for tier, patterns in language.items():
            for entry in patterns:
                # A sentence pattern's exclusion is read from the same text: its words must be written as read too.
                source = (
                    entry
                    if isinstance(entry, str)
                    else f"{entry['pattern']}|{named.get(entry['unless_sentence_has'], entry['unless_sentence_has'])}"
                )
                # "§" marks what may go on with letters: an escape other than a boundary or a space, a class,
                # a group glued to a word.
                literal = re.sub(r"\\.", lambda escape: " " if escape.group(0) in ("\\b", "\\s") else "§", source)
                literal = re.sub(r"\[[^\]]*\]", "§", literal)
                literal = re.sub(r"[^\W\d_]+\([^()]*\)|\([^()]*\)\??[^\W\d_]+", "§", literal)
                words = {
                    token
                    for token in re.split(r"[\s()|]+", literal)
                    if re.fullmatch(r"[^\W\d_]+(?:'[^\W\d_]+)?", token)
                }
                clashes += [f"{code}.{tier}: {word!r}" for word in sorted(words & rewritten)]
    assert clashes == []


@pytest.mark.parametrize(
    ("said", "at_least"),
    [
        ("steh grad auf dem dach", Level.POSSIBLE),
        ("steh grad an der kante", Level.CLEAR),
        ("ich steh jetzt auf der brücke", Level.CLEAR),
        ("estoy en el puente ahorita", Level.CLEAR),
        ("to na ponte agora", Level.CLEAR),
        ("je suis sur le pont là", Level.CLEAR),
        ("je suis sur le toit là", Level.POSSIBLE),
        ("сейчас стою на мосту", Level.CLEAR),
        ("estoy en el puente", Level.POSSIBLE),
        ("to em cima do predio", Level.POSSIBLE),
        ("стою на краю", Level.POSSIBLE),
        ("chu su l'toit pis j'regarde en bas", Level.POSSIBLE),
        ("estoy juntando pastillas", Level.POSSIBLE),
        ("to guardando comprimidos", Level.POSSIBLE),
        ("коплю таблетки", Level.POSSIBLE),
        ("hab tabletten gebunkert", Level.POSSIBLE),
        ("je garde des médocs de côté depuis des mois", Level.POSSIBLE),
        ("me voy a colgar", Level.CLEAR),
        ("me voy a tirar al metro", Level.POSSIBLE),
        ("me voy a tirar bajo el metro", Level.CLEAR),
        ("aventarme del puente", Level.CLEAR),
        ("выйду в окно", Level.CLEAR),
        ("vou atirar-me da ponte", Level.CLEAR),
        ("vou enforcar-me", Level.CLEAR),
        ("o meu pai bate-me", Level.CLEAR),
        ("je me suis ouvert les veines", Level.CLEAR),
        ("je me remutile", Level.CLEAR),
        ("me suis coupée", Level.CLEAR),
        ("sorry chto pishu, ya naglotalas tabletok", Level.CLEAR),
        ("alle tabletten genommen", Level.CLEAR),
        ("ritz wieder", Level.CLEAR),
        ("mi vieja me caga a palos", Level.CLEAR),
        ("tomei tudo", Level.POSSIBLE),
        ("vou atirar-me", Level.POSSIBLE),
        ("vou atirar-me de cabeça ao rio", Level.CLEAR),
        ("vou atirar-me para a piscina e nunca mais subir", Level.CLEAR),
        ("ele fechou a porta e bateu-me", Level.CLEAR),
        ("me voy a tirar a la piscina desde el balcon del piso 10", Level.CLEAR),
        ("me voy a colgar del telefono... no, me voy a colgar de verdad", Level.CLEAR),
        ("me voy a tirar al agua con piedras en los bolsillos", Level.CLEAR),
        ("je me suis coupé les cheveux puis ouvert les poignets", Level.CLEAR),
        ("estoy en el puente ahora mismo, saque una foto para mis amigos para que me recuerden", Level.CLEAR),
        ("ich stehe grad auf dem dach, schöne aussicht zum letzten mal", Level.POSSIBLE),
        ("tschüss an alle", Level.POSSIBLE),
        ("ich mach schluss", Level.POSSIBLE),
        ("ciao für immer", Level.POSSIBLE),
        ("adios a todos", Level.POSSIBLE),
        ("adeus a todos", Level.POSSIBLE),
        ("acabou pra mim", Level.POSSIBLE),
        ("chu pu capable", Level.POSSIBLE),
        ("всем пока навсегда", Level.POSSIBLE),
        ("не могу больше", Level.POSSIBLE),
        ("оставила пароли сестре", Level.POSSIBLE),
    ],
)
def test_other_languages_heights_saved_pills_other_verb_forms_and_fragments(
    safety: Safety, said: str, at_least: Level
) -> None:
    assert safety.screen.verdict(said).level >= at_least


@pytest.mark.parametrize(
    "everyday",
    [
        "steh grad auf dem dach und reparier die antenne",
        "to na ponte agora, transito parado",
        "стою на мосту, пробка жуткая",
        "stoyu na kryshe, vid super",
        "estoy en el puente de la constitucion con mis primos, que frio",
        "junto pastillas de vitamina c pa el invierno",
        "to guardando comprimidos de ferro pra minha avo",
        "me voy a colgar del telefono",
        "me voy a tirar al sofa",
        "me voy a tirar a la piscina",
        "vou atirar-me a piscina",
        "o meu pai bate-me sempre no xadrez",
        "a minha irma bate-me a porta todos os dias",
        "je me suis coupé les cheveux",
        "je me suis ouvert le doigt avec une boite de conserve",
        "otchim menya b'et v shakhmaty",
        "tabletten genommen, kopf weh weg",
        "tschüss an alle, bis morgen",
        "ich mach schluss mit ihm",
        "adios a todos, me voy a dormir",
        "acabou pra mim, perdi no fifa",
        "не могу больше есть",
        "все, конец смены",
        "ya estoy en el puente, llego en 5 minutos",
        "je suis sur le pont toute la journée",
        "je suis sur la voie de la guérison",
        "я сижу на подоконнике сейчас и пью чай",
        "hab meine tabletten genommen",
        "pastillas tomadas",
        "me voy a colgar la mochila y salgo",
        "me dio una paliza al tenis",
        "o coração bate-me forte",
        "vou atirar-me ao trabalho esta semana",
        "vou matar-me a estudar para o exame",
        "je me suis ouvert le bras en tombant de vélo",
        "la mutilation génitale est un crime",
        "coupé",
        "tschüss",
        "chau gente",
        "не могу",
        "собираю лекарства в поездку",
        "ya porezala ruku nozhom kogda gotovila",
        "junto com os comprimidos",
    ],
)
def test_their_look_alikes_do_not_get_the_patterns_question(safety: Safety, everyday: str) -> None:
    assert safety.screen.verdict(everyday).level is Level.NONE


def _sure_it_is_harmless(warm: Safety) -> Safety:
    """``warm`` with readers that would demote every full reply and withdraw every question they may."""
    blend, multilingual, encoder = warm.readers.blend, warm.readers.multilingual, warm.readers.encoder
    assert blend is not None and multilingual is not None and encoder is not None
    readers = dataclasses.replace(
        warm.readers,
        blend=dataclasses.replace(blend, withdraw_below=1.0, withdraw_demoted_below=1.0),
        multilingual=dataclasses.replace(multilingual, demote_below=1.0),
        encoder=dataclasses.replace(encoder, demote_below=1.0),
    )
    return dataclasses.replace(warm, _readers=readers)


@pytest.mark.parametrize(
    "quiet",
    [
        "its been a good run i guess. thanks for putting up with me all these years 🖤",
        "u should tell my therapist i said thank you, she tried her best with me",
        "копила таблетки пару месяцев, теперь их точно хватит на всё",
    ],
)
def test_a_kept_patterns_question_stands_on_a_long_message_whatever_the_readers_say(warm: Safety, quiet: str) -> None:
    verdict = warm.screen.verdict(quiet)
    assert verdict.level is Level.POSSIBLE and verdict.kept
    assert word_count(verdict.normal) >= QUESTION_KEPT_UNDER_WORDS
    assert _sure_it_is_harmless(warm).assess(quiet).level is Level.POSSIBLE


def test_a_kept_patterns_full_reply_may_become_the_question_but_never_nothing(warm: Safety) -> None:
    story = "завалил экзамен, отец орал весь вечер, сейчас стою на мосту"
    verdict = warm.screen.verdict(story)
    assert verdict.level is Level.CLEAR and verdict.kept
    assert _sure_it_is_harmless(warm).assess(story).level is Level.POSSIBLE
    # The same readers take a pattern's full reply away when no kept pattern matched.
    plain = "завалил экзамен, отец орал весь вечер, хочу умереть"
    assert not warm.screen.verdict(plain).kept
    assert _sure_it_is_harmless(warm).assess(plain).level is Level.NONE


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("'(?#kept)^(?!.{0,300}(", "'^(?!.{0,300}(?#kept)("),  # the mark after the start of a pattern
        ("\nbenign:\n", "\nbenign:\n  - '(?#kept)\\bdead tired\\b'\n"),  # on a benign figure of speech
    ],
)
def test_a_kept_mark_anywhere_but_the_start_of_a_risk_or_possible_pattern_is_reported(
    tmp_path: Path, old: str, new: str
) -> None:
    with pytest.raises(FlowLoadError) as raised:
        load_safety(conversations_with(tmp_path, old, new))
    (error,) = raised.value.errors
    assert "(?#kept) counts only at the very start of a risk or possible pattern" in str(error)


def conversations_with(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of ``conversations/`` whose screen.yaml has the first ``old`` replaced by ``new``."""
    copy = tmp_path / "conversations"
    shutil.copytree(ROOT / "conversations", copy)
    screen = copy / "safety" / "screen.yaml"
    text = screen.read_text(encoding="utf-8")
    assert old in text
    screen.write_text(text.replace(old, new, 1), encoding="utf-8")
    return copy


@pytest.mark.parametrize(
    ("said", "found"),
    [
        ("i gave it away", True),
        ("i gave the old one away", False),
        ("i gave it away, it was old anyway", False),  # the exclusion after the match, same sentence
        ("the old car finally died. so i gave it away", True),  # the exclusion in another sentence
        ("i gave it away! it was old", True),
        ("it was old so i gave it away. then i gave the bike away too", True),
    ],
)
def test_a_sentence_pattern_counts_only_in_a_sentence_without_its_exclusion(said: str, found: bool) -> None:
    assert bool(re.search(within_a_sentence(r"\bgave\b", r"\bold\b"), said)) is found


def test_a_sentence_pattern_keeps_its_kept_mark_first_and_its_alternatives_inside_the_sentence() -> None:
    source = within_a_sentence(KEPT + r"\bgave\b|\bsold\b", r"\bold\b")
    assert source.startswith(KEPT)
    assert re.search(source, "i sold the old one") is None  # both alternatives are read within the sentence


def test_a_sentence_pattern_in_screen_yaml_reads_a_named_exclusion(tmp_path: Path) -> None:
    added = "\npossible:\n  - pattern: '\\bflurbed\\b'\n    unless_sentence_has: a laugh or a song\n"
    screen = load_safety(conversations_with(tmp_path, "\npossible:\n", added)).screen
    assert screen.verdict("i flurbed tonight").level is Level.POSSIBLE
    assert screen.verdict("i flurbed tonight lol").level is Level.NONE
    assert screen.verdict("lol. i flurbed tonight").level is Level.POSSIBLE


@pytest.mark.parametrize(
    ("exclusion", "line_offset", "wrong"),
    [
        ("a laugh or a snog", 2, "no exclusion named 'a laugh or a snog' under sentence_exclusions"),
        ("'\\b(old'", 2, "not a valid pattern"),
    ],
)
def test_a_sentence_patterns_wrong_exclusion_is_reported_at_its_line(
    tmp_path: Path, exclusion: str, line_offset: int, wrong: str
) -> None:
    added = f"\npossible:\n  - pattern: '\\bflurbed\\b'\n    unless_sentence_has: {exclusion}\n"
    copy = conversations_with(tmp_path, "\npossible:\n", added)
    lines = (copy / "safety" / "screen.yaml").read_text(encoding="utf-8").splitlines()
    at = lines.index("  - pattern: '\\bflurbed\\b'") + line_offset
    with pytest.raises(FlowLoadError) as raised:
        load_safety(copy)
    (error,) = raised.value.errors
    assert str(error).startswith(f"{error.file}:{at}: ")
    assert wrong in str(error)


def load_errors(copy: Path) -> list[str]:
    """Every error loading ``copy`` reports, as printed (file:line: where: what)."""
    with pytest.raises(FlowLoadError) as raised:
        load_safety(copy)
    return [str(error) for error in raised.value.errors]


def line_in(copy: Path, line: str) -> int:
    """The 1-based number of ``line`` in ``copy``'s screen.yaml."""
    return (copy / "safety" / "screen.yaml").read_text(encoding="utf-8").splitlines().index(line) + 1


@pytest.mark.parametrize(
    ("pattern", "exclusion", "wrong_line", "wrong"),
    [
        # Each half is unbalanced on its own, and the two would pair up into one pattern that compiles.
        ("'\\bflurbed)|(\\bx'", "'\\blol'", 0, "not a valid pattern: unbalanced parenthesis"),
        ("'\\bflurbed'", "'\\blol)|(x'", 1, "not a valid pattern: unbalanced parenthesis"),
        ("'\\bflurbed'", "'\\bjaj\u00e1'", 1, "cannot match as written: it holds '\u00e1'"),
        ("'\\bflurbed'", "'(?#kept)\\blol'", 1, "(?#kept) marks a pattern, not an exclusion"),
        ("'(?#kept)\\bflurbed'", "'\\blol'", 0, "(?#kept) counts only at the very start of a risk or possible"),
    ],
)
def test_each_half_of_a_sentence_pattern_is_checked_and_reported_at_its_own_line(
    tmp_path: Path, pattern: str, exclusion: str, wrong_line: int, wrong: str
) -> None:
    added = f"\nbenign:\n  - pattern: {pattern}\n    unless_sentence_has: {exclusion}\n"
    copy = conversations_with(tmp_path, "\nbenign:\n", added)
    (error,) = load_errors(copy)
    at = line_in(copy, f"  - pattern: {pattern}") + wrong_line
    assert error.startswith(f"{copy / 'safety' / 'screen.yaml'}:{at}: ")
    assert wrong in error


def test_a_broken_named_exclusion_is_reported_once_at_its_own_line(tmp_path: Path) -> None:
    copy = conversations_with(tmp_path, "  a laugh or a song: '", "  a laugh or a song: '\\b(lol|")
    (error,) = load_errors(copy)  # not again at each of the patterns that name it
    lines = (copy / "safety" / "screen.yaml").read_text(encoding="utf-8").splitlines()
    named = next(line for line in lines if line.startswith("  a laugh or a song: "))
    assert f":{line_in(copy, named)}: screen.sentence_exclusions.a laugh or a song: not a valid pattern" in error


def test_an_exclusion_named_with_punctuation_is_reported(tmp_path: Path) -> None:
    named = "  'lol!': '\\blol\\b'"
    copy = conversations_with(tmp_path, "sentence_exclusions:\n", f"sentence_exclusions:\n{named}\n")
    (error,) = load_errors(copy)
    assert f":{line_in(copy, named)}: " in error and "'lol!' is no name" in error


@pytest.mark.parametrize(
    ("entry", "wrong"),
    [
        (
            "  - pattern: '\\bflurbed'\n    unles_sentence_has: '\\blol'",
            "unknown key 'unles_sentence_has' (did you mean 'unless_sentence_has'?); allowed here: pattern, "
            "unless_sentence_has",
        ),
        ("  - unless_sentence_has: '\\blol'", "'pattern' is missing; add it"),
        ("  - 5", "a pattern is text in quotes, or 'pattern:' with 'unless_sentence_has:' (got 5)"),
    ],
)
def test_a_pattern_written_wrongly_is_explained_at_its_line(tmp_path: Path, entry: str, wrong: str) -> None:
    copy = conversations_with(tmp_path, "\nbenign:\n", f"\nbenign:\n{entry}\n")
    errors = load_errors(copy)
    assert any(error.endswith(wrong) for error in errors), errors
    # at the line of the key that is wrong, or of the entry itself
    lines = [line_in(copy, entry.splitlines()[0]) + offset for offset in range(len(entry.splitlines()))]
    assert all(any(f":{line}: " in error for line in lines) for error in errors), errors


def test_a_pattern_may_be_written_as_a_mapping_without_an_exclusion(tmp_path: Path) -> None:
    added = "\npossible:\n  - pattern: '\\bflurbed\\b'\n"
    screen = load_safety(conversations_with(tmp_path, "\npossible:\n", added)).screen
    assert screen.verdict("i flurbed tonight lol").level is Level.POSSIBLE


@pytest.mark.parametrize(
    "quiet",
    [
        "got the sack. cancelled spotify, my phone, the gym, everything. no point anymore",
        "day 1 again",
        "143 days down the drain",
        "bombed my dissertation viva. came back to halls and cut. first time in ages",
        "came home and cut for the first time in two years",
        "cut my thighs again",
        "not sure i can face another 30 years of this",
        "i'd trade places with him in that coffin in a heartbeat",
        "honestly death sounds like a nice long nap",
        "retired, widowed, kids in australia. dont see what's left for me really",
        "tried a fear food today. a croissant. cried and then made up for it",
        "dentist asked about the enamel erosion. i lied",
        "keep training through the injury cause rest days make me feel fat",
        "wearing a watch to cover it",
        "spent the afternoon writing goodbye texts, not sent them yet",
        "i envy my grandad, at least he gets to rest now",
    ],
)
def test_english_quiet_signs_from_own_probes_get_a_kept_question(safety: Safety, quiet: str) -> None:
    verdict = safety.screen.verdict(quiet)
    assert verdict.level >= Level.POSSIBLE and verdict.kept


@pytest.mark.parametrize(
    "everyday",
    [
        "cancelled everything before moving to canada",
        "cancelled the gym, the sky, and the second car insurance. cutting everything back while im out of work",
        "cancelled amazon prime, no point paying when i never use it",
        "couch to 5k, day 1 again after the flu",
        "its been 9 months and i did it again, failed my driving test lol",
        "counter's back at zero, the dog chewed another shoe",
        "cut for the first time since uni, my hair that is, pixie cut now",
        "cut my legs shaving lol",
        "i cant do 50 more years of this commute",
        "death by powerpoint sounds like a holiday",
        "death honestly sounds like a rest compared to leg day",
        "i envy people who get to retire at 55",
        "dont see whats left for me to do but take up golf",
        "tried a fear food today, sushi! wasnt bad actually, my dietitian is proud",
        "tonight's the night, proposing to her at dinner 💍",
    ],
)
def test_their_everyday_look_alikes_are_not_kept(safety: Safety, everyday: str) -> None:
    assert not safety.screen.verdict(everyday).kept


@pytest.mark.parametrize(
    "quiet",
    [
        "got the sack on monday. spent today cancelling everything in my name. spotify, phone, gym, the lot",
        "cancelled my amazon prime and my insurance renewal. no point anymore",
        "day 2 again. thought id beaten it",
        "tonight's the night 🖤",
    ],
)
def test_broader_quiet_signs_get_the_patterns_question_which_the_readers_may_weigh(safety: Safety, quiet: str) -> None:
    verdict = safety.screen.verdict(quiet)
    assert verdict.level is Level.POSSIBLE and not verdict.kept


@pytest.mark.parametrize(
    "everyday",
    [
        "Cancelled everything on my calendar today, too tired",
        "Unsubscribed from all the marketing emails, the lot",
        "Quit smoking again. Day 1 again",
        "Six months wasted on that relationship",
        "Got my hair cut for the first time in two years",
        "Cut my legs session short, knee was sore",
        "Can't do 10 more reps",
        "another 2 years of this PhD and I'm done",
        "I envy people who die peacefully in their sleep at 95, that's the dream ending",
        "what's left for me at this company",
        "Ate a fear food today and didn't panic! My dietitian is proud",
        "My teeth hurt from throwing up with that stomach bug",
        "wearing a watch to cover it, the little tattoo",
        "Writing goodbye messages to my team before I leave",
        "Tonight's the night 🎉",
        "It was a good run today, 10k in 55 minutes",
        "No more tomorrows, only todays, my new mindfulness motto",
        "Signing off, it's been fun! Off to make dinner.",
        "Last time I'll open this app, the ads are too much. Bye and thanks.",
        "Could you tell my mum I said thanks for dinner?",
        "Her death feels like a relief honestly, she had been in so much pain",
    ],
)
def test_a_reviewers_everyday_messages_are_not_kept(safety: Safety, everyday: str) -> None:
    assert not safety.screen.verdict(everyday).kept


@pytest.mark.parametrize(
    "goodbye",
    [
        "i'm checking out for good",
        "goodnight forever 🕊️",
        "i'm going to be with nan soon",
        "you did everything you could",
        "don't cry for me",
        "remember me ok",
        "bury me next to nan",
        "scatter my ashes at the beach",
        "promise me you'll look after the kids",
        "my mate dave gets my tools",
        "tell the grandkids grandpa loved them",
        "if you don't hear from me by monday, call the police to check the flat",
        "goodbye 🖤",
        "i'm done fighting",
        "you won't have to deal with me anymore",
        "this is where my story ends",
    ],
)
def test_a_helpers_quiet_goodbyes_get_the_patterns_question(safety: Safety, goodbye: str) -> None:
    assert safety.screen.verdict(goodbye).level >= Level.POSSIBLE


@pytest.mark.parametrize(
    "everyday",
    [
        "i'm checking out of the hotel at 10",
        "i'm bowing out of the quiz, too hard",
        "curtains for me at work, they're making my role redundant",
        "going to see grandad soon, he's in hospital in leeds",
        "don't cry for me argentina 🎶",
        "never forget me when you're famous 😂",
        "bury me, i lost at scrabble again",
        "bury me next to nan is what grandad always used to say",
        "take care of my goldfish while i'm in bali",
        "dave gets my tools, i'm decluttering the shed",
        "if you don't hear from me by monday, call the police lol i'm going on a tinder date",
        "goodbye 🖤 see you at practice tomorrow",
        "i'm done fighting with the council about the bins",
        "been nice knowing ya. exam tomorrow lol",
        "👋",
        "i'm clocking out",
        "i'm tapping out",
        "remember me? it's jess from year 9",
        "i'll join my sister soon",
        "don't forget me!! x",
        "goodbye 👋",
        "🥀",
        "good night forever lol",
        "i'm done fighting this cold",
        "look after your sister for me, back at 6",
    ],
)
def test_their_look_alikes_do_not_get_it(safety: Safety, everyday: str) -> None:
    assert safety.screen.verdict(everyday).level is Level.NONE


@pytest.mark.parametrize(
    ("said", "at_least"),
    [
        ("depuis la rupture je mange presque plus, un yaourt par jour max", Level.POSSIBLE),
        ("jmange quasi rien", Level.POSSIBLE),
        ("desde que me dejo casi no como, un yogur al dia", Level.POSSIBLE),
        ("apenas como", Level.POSSIBLE),
        ("desde que ele me deixou quase não como", Level.POSSIBLE),
        ("quase n to comendo nada", Level.POSSIBLE),
        ("me tomé un montón de ansiolíticos, no conté cuántos", Level.CLEAR),
        ("me he tomado 30 lorazepam", Level.CLEAR),
        ("me tome 3 cajas de paracetamol", Level.CLEAR),
        ("engoli uns 20 paracetamol agora pouco e to enjoada", Level.CLEAR),
        ("tomei 3 cartelas de rivotril", Level.CLEAR),
        ("um colega violou-me depois do jantar da empresa", Level.CLEAR),
        ("ele me violentou", Level.CLEAR),
        ("il m'a forcée a coucher avec lui", Level.CLEAR),
        ("un collègue m'a forcée après le pot de départ", Level.CLEAR),
        ("ils m'ont forcée", Level.CLEAR),
        ("muzh zaper menya doma", Level.CLEAR),
        ("si jamais il m'arrive qqch, occupe-toi de mon chat", Level.POSSIBLE),
        ("se me acontecer alguma coisa, cuidem do meu cão", Level.POSSIBLE),
        ("si algo me pasa cuida a mi perro", Level.POSSIBLE),
        ("если со мной что-то случиться, забери кота", Level.POSSIBLE),
        ("sollte mir was zustoßen nimm die katze", Level.POSSIBLE),
        ("o meu ex anda sempre atrás de mim", Level.POSSIBLE),
        ("meu ex fica me esperando na porta do trabalho", Level.POSSIBLE),
        ("бывший опять караулит меня у подъезда", Level.POSSIBLE),
        ("месяц откладываю таблетки, в коробке уже целая горка", Level.POSSIBLE),
        ("era um alívio não acordar amanhã", Level.POSSIBLE),
        ("já não vejo razão para cá andar", Level.POSSIBLE),
        ("ich hoff ich schlaf heut nacht ein und das wars", Level.POSSIBLE),
        ("wenn ich einfach verschwinden würde, wärs für alle leichter", Level.POSSIBLE),
        ("every morning i'm annoyed i woke up", Level.POSSIBLE),
        ("annoyed to have woken up", Level.POSSIBLE),
        ("told my gp i lost my meds again so id get more", Level.POSSIBLE),
        ("i've been getting early refills and lying to the pharmacy about losing them", Level.POSSIBLE),
        ("told him i was grateful for everything and i meant it as a farewell", Level.POSSIBLE),
        ("tell amma not to cry too much", Level.POSSIBLE),
        ("the solicitor has instructions for after", Level.POSSIBLE),
    ],
)
def test_quiet_signs_from_this_sessions_probes_as_classes(safety: Safety, said: str, at_least: Level) -> None:
    assert safety.screen.verdict(said).level >= at_least


@pytest.mark.parametrize(
    "everyday",
    [
        "je mange presque plus de viande",
        "casi no comi en la boda de lo nervioso que estaba",
        "en el trabajo casi no comi hoy, mucho lio",
        "no trabalho quase não comi hoje, foi uma loucura",
        "me tome un monton de calmantes por la regla, ya estoy mejor",
        "me tome una caja de calmantes en toda la semana del dentista",
        "tomei 6 dipirona essa semana por causa da enxaqueca",
        "tomei um monte de remedios pra gripe",
        "a app violou-me a privacidade",
        "o vizinho violou-me a caixa do correio",
        "mon pote m'a forcé pour venir a la soirée mdr",
        "mon coach m'a forcé, du coup j'ai couru 10 km",
        "menya zaperli v lifte, zhdu mastera",
        "s'il m'arrive quelque chose au ski tu peux récupérer la voiture au parking",
        "si me pasa algo en la excursion, quedate con las llaves del coche",
        "если со мной что-то случится на работе, возьми трубку и позвони шефу",
        "vorm flug hab ich gesagt wenn mir was passiert kümmert sich meine schwester um den kater lol",
        "o cachorro ele anda atrás de mim pela casa toda",
        "телефон стоит у окна на зарядке",
        "мой парень ждет у подъезда, идем в кино",
        "отложила таблетки в сторону, врач сказал пока не пить",
        "отложил колеса в гараж до зимы",
        "melhor não acordar o bebê agora",
        "gleich einpennen und das wars für heute, gute nacht",
        "wenn ich umziehe und weg bin, ist es für alle einfacher mit dem platz",
        "so mad i keep waking up every night at 3 to pee",
        "mad i woke up and my flight was cancelled",
        "told the bank i lost it so they sent another card",
        "i meant it as a farewell gift for the team",
        "tell mum not to cry, im only moving to leeds lol",
        "bueno me despido de todos, nos vemos el lunes",
    ],
)
def test_this_sessions_look_alikes_do_not_get_the_patterns_question(safety: Safety, everyday: str) -> None:
    assert safety.screen.verdict(everyday).level is Level.NONE


@pytest.mark.parametrize(
    "joke",
    [
        "wenn ich noch eine excel tabelle seh spring ich ausm fenster haha",
        "ещё одна эксель таблица и я выйду в окно ахаха",
        "еще один отчет и выйду в окно)))",
        "mi jefa me va a matar cuando vea q no mande el informe",
        "a minha chefe vai matar-me quando souber que me esqueci da reunião",
        "me quemé con el horno haciendo galletas, ya me puse crema",
    ],
)
def test_a_joke_ending_in_a_laugh_the_boss_and_a_kitchen_burn_are_left_alone(safety: Safety, joke: str) -> None:
    assert safety.screen.verdict(joke).level is Level.NONE


@pytest.mark.parametrize(
    "meant",
    [
        "wenn ich noch einen tag so leben muss spring ich von der brücke haha ich mein das ernst",
        "ещё один такой день и я выйду в окно хаха уже не смешно",
        "me queme en la estufa aproposito",
        "me queme con el aceite, lo hice yo",
        "mi jefe me va a matar cuando se entere, me amenazo con un cuchillo",
    ],
)
def test_the_same_words_meant_keep_the_full_reply(safety: Safety, meant: str) -> None:
    assert safety.screen.verdict(meant).level is Level.CLEAR


@pytest.mark.parametrize(
    "goodbye",
    [
        "hab genug gelebt mit 84, trauer nich um deinen alten vater",
        "já vivi que chegue, 83 anos. não chores pelo teu pai",
        "я своё пожила, 85 лет хватит",
        "j'ai assez vécu, ne pleurez pas pour moi",
        "les lettres pour les enfants sont dans un dossier, pour plus tard",
        "as cartas pras crianças tão no notebook numa pasta chamada 'pra quando crescerem'",
        "письма для детей в ноуте в папке 'когда вырастут'",
        "dejé cartas para mis hijos para cuando sean grandes",
        "nur urne und ab in die ostsee",
        "esparzan mis cenizas en el mar",
        "se um carro me atropelar amanha tanto faz, ate me faria um favor",
        "si me pilla un coche me haría un favor",
        "ya le dejé cartas a mis hijos por si no estoy",
        "ich habe lange genug gelebt, jetzt reicht's",
    ],
)
def test_other_languages_quiet_goodbyes_of_the_second_round_get_the_question(safety: Safety, goodbye: str) -> None:
    assert safety.screen.verdict(goodbye).level >= Level.POSSIBLE


@pytest.mark.parametrize(
    "everyday",
    [
        "ich hab lange genug gelebt um zu wissen, dass chefs nie zuhören",
        "j'ai assez vécu pour savoir que ça passe",
        "ya vivi lo suficiente para saber que esto pasa",
        "no llores por mi argentina 🎶",
        "мне 25 лет хватит уже сидеть на этой работе",
        "ya vivi suficiente en madrid, me mudo a valencia",
        "ich hab lange genug im ausland gelebt",
        "я уже своё пожил в общаге, хватит, снимаю квартиру",
        "trauert nicht um mich, ich hab nur den job verloren haha",
        "não chores por mim, só vou de férias!",
        "der kamin ist aus, meine asche kehre ich morgen",
        "minhas cinzas de cigarro no chão",
        "des vidéos pour les petits-enfants, pour plus tard, de leurs premiers pas",
        "se o ônibus me pegar atrasado tanto faz",
    ],
)
def test_the_second_rounds_look_alikes_do_not_get_it(safety: Safety, everyday: str) -> None:
    assert safety.screen.verdict(everyday).level is Level.NONE


@pytest.mark.parametrize(
    "text",
    [
        "і wаnt tо dіе",  # Cyrillic twins
        "I WАNT TO KІLL MYSЕLF",
        "ι ωαnt tο diε",  # Greek twins
        "𝐢 𝐰𝐚𝐧𝐭 𝐭𝐨 𝐤𝐢𝐥𝐥 𝐦𝐲𝐬𝐞𝐥𝐟",
        "i want to 🇩🇮🇪",
        "i want to 🅳🅸🅴",
        "i want to ᴅɪᴇ",
        "im going to kiiiill myself tonight",
        "i just wanna dieeeee",
        "i want to ki-ll myself",
        "хочу умерeть",  # a Latin "e" in a Russian word
        "я хoчу пoкoнчить с сoбoй",
        "мысли о с*ициде каждый день, хочу умереть",
        "volvieron las ideas de s*icidio, quiero morir",
        "noooo reason to liiive anymore",
        "I'm so tired of everything, хочу умереть",  # English and Russian in one message
        "I'm going to покончить с собой",
        "kїll mуsеlf tonight",  # an accented twin
        "ᶦ ʷᵃⁿᵗ ᵗᵒ ᵏᶦˡˡ ᵐʸˢᵉˡᶠ",
        "je veux m0urir",
        "хочу у6ить себя",
    ],
)
def test_letters_dressed_up_as_others_do_not_hide_a_clear_statement(safety: Safety, text: str) -> None:
    assert safety.screen.verdict(text).level is Level.CLEAR


@pytest.mark.parametrize(
    "text",
    [
        "moved to 🇩🇪 last year and the job is killing me lol",
        "мама сказала, что всё будет хорошо",
        "my babushka always said хорошо when we failed",
        "sooooo tired of this exam week",
        "well-being workshop at work was useless",
        "Puss och kyssss 😘",
        "that's sooo odddd",
        "Take one tablet o.d. with food",
        "road trip 🇩🇪🇦🇩 next summer",
    ],
)
def test_flags_real_scripts_and_held_down_letters_raise_nothing_by_themselves(safety: Safety, text: str) -> None:
    assert safety.screen.verdict(text).level is Level.NONE


@pytest.mark.parametrize(
    ("said", "at_least"),
    [
        ("my goodbye email is scheduled for 9am monday", Level.POSSIBLE),
        ("set the goodbye post to go live after i log off", Level.POSSIBLE),
        ("hugged my mum tonight and said bye without her knowing", Level.POSSIBLE),
        ("he doesnt know it was our goodbye", Level.POSSIBLE),
        ("asked my brother to mind the cat, he didnt know why i asked", Level.POSSIBLE),
        ("my neighbour will take my dogs, its arranged", Level.POSSIBLE),
        ("cooked dinner for my parents one last time", Level.POSSIBLE),
        ("tucked in the kids one final time", Level.POSSIBLE),
        ("i wrote my best friend a goodbye.", Level.POSSIBLE),
        ("hab frische ritzer am unterarm, keiner weiß davon", Level.POSSIBLE),
        ("me lanzaria desde el puente sin pensarlo", Level.POSSIBLE),
        ("j'ai tout réglé, il me reste plus rien à payer", Level.POSSIBLE),
        ("mes affaires sont en ordre maintenant", Level.POSSIBLE),
        ("ele apertou a minha garganta", Level.CLEAR),
        ("ele me esganou ate eu desmaiar", Level.CLEAR),
        ("поезд тут не останавливается, смотрю на него каждый вечер", Level.POSSIBLE),
        ("вчера опять взял пистолет и долго сидел", Level.POSSIBLE),
        ("насобирал снотворного на всякий случай", Level.POSSIBLE),
        ("спасибо тебе за все. прощай", Level.CLEAR),
        ("прощайте навсегда", Level.CLEAR),
        ("прощайте, друзья", Level.CLEAR),
        ("my sister's getting the kids, it's all written down", Level.POSSIBLE),
        ("she didnt realise it was goodbye", Level.POSSIBLE),
        ("mein arm ist voller schnitte", Level.POSSIBLE),
        ("apertaste-me o pescoço até eu perder o ar", Level.CLEAR),
    ],
)
def test_quiet_signs_of_the_nineteenth_sessions_probes_as_classes(safety: Safety, said: str, at_least: Level) -> None:
    assert safety.screen.verdict(said).level >= at_least


@pytest.mark.parametrize(
    "everyday",
    [
        "my leaving-do goodbye email is drafted, sending it friday",
        "my ex gets the kids every other weekend",
        "my sister takes the kids to school on tuesdays",
        "my brother texted me a goodbye from the airport",
        "sent the team a goodbye email and a cake",
        "cooked staff lunch one final time before the sale",
        "электричка опять прошла без остановки и я опоздал",
        "достал ружье, завтра на охоту",
        "j'ai tout réglé pour le déménagement",
        "tout est en ordre, le contrôle technique est passé",
        "my neighbour will have my dogs while we are in spain",
        "scheduled the goodbye post for my last day at the office",
        "gave the cat a goodbye scratch before work",
        "Schnitte am Bauch vom Schweinebraten einritzen",
        "mañana hago puenting y me tiro desde el puente",
        "дед достал ружье показать внукам",
        "насобирала таблеток от давления для соседки",
        "слушаю песню «Прощай» на повторе",
    ],
)
def test_the_nineteenth_sessions_look_alikes_do_not_get_the_patterns_question(safety: Safety, everyday: str) -> None:
    assert safety.screen.verdict(everyday).level is Level.NONE


@pytest.mark.parametrize(
    ("said", "level"),
    [
        ("Прощай, лето!", Level.POSSIBLE),  # a farewell to a thing asks, it does not send the helplines
        ("прощай этот офис навсегда", Level.POSSIBLE),
        ("всем спасибо. прощайте", Level.CLEAR),  # a farewell that closes what is said
        ("прощай 😔", Level.CLEAR),
    ],
)
def test_a_russian_farewell_to_a_thing_asks_and_one_that_closes_a_message_replies(
    safety: Safety, said: str, level: Level
) -> None:
    assert safety.screen.verdict(said).level is level


@pytest.mark.parametrize(
    "quiet",
    [
        "my mates think i'm just moving back home",
        "she doesn't know it's my last visit",
        "i've finally decided and it feels quiet in my head",
        "gave my rifle to my cousin for nothing",
        "changed the death in service form to my brother",
        "Signing off. Out.",
        "logging off for good",
        "ich möchte neben meiner mutter begraben werden",
        "machts gut ihr alle 🥀",
        "kannst du die katze behalten? dauerhaft meine ich",
        "versucht nicht mich aufzuhalten",
        "quiero que me cremen, nada de misa",
        "de ahora en adelante cuidas tu a mis plantas",
        "no intenten detenerme",
        "incinérez-moi, pas de cérémonie",
        "tu peux garder mon chien pour de bon ?",
        "c'était un plaisir de vous avoir connus",
        "quero ser cremado, sem velório",
        "daqui pra frente cuida do meu gato por favor",
        "não tentem me impedir",
        "развейте мой прах над морем",
        "не отговаривайте меня",
        "моя последняя ночь. спасибо всем",
        "eto moe poslednee soobshenie",
    ],
)
def test_quiet_goodbyes_of_the_nineteenth_sessions_second_round_get_the_question(safety: Safety, quiet: str) -> None:
    assert safety.screen.verdict(quiet).level >= Level.POSSIBLE


@pytest.mark.parametrize(
    "everyday",
    [
        "my dad thinks i'm just tired",
        "signing off for tonight, see you tomorrow",
        "sold my old bike to a neighbour for a tenner, it was rusty anyway",
        "hoje é a minha última noite em lisboa",
        "ma dernière nuit à lyon avant le retour",
        "mi ultima noche en cancun 😭",
        "моя последняя ночь в отпуске",
        "já não há volta a dar, a tese tem de sair",
        "signing off!",
        "my boss thinks i'm leaving for the competitor",
        "my students don't know it's my last term, i'm retiring",
        "i've finally decided on a name for the puppy",
        "updated my life cover after the baby",
        "Mietvertrag unterschrieben, jetzt gibt's kein Zurück mehr",
        "firmé la hipoteca, no hay vuelta atrás",
        "подписал ипотеку, назад пути нет",
        "Salut 🖤 tu fais quoi ce soir ?",
        "Tschüss 💔 Sommer, hallo Herbst",
        "Cuida a Toby desde ahora hasta el domingo",
        "Rega as plantas a partir de agora às terças, combinado?",
        "Je garde le chat définitivement, adoption validée",
        "Oma will im Friedwald begraben werden",
        "quero ser cremado e virar purpurina kkkk",
        "на моих похоронах пусть играет рок",
        "удалил все файлы с рабочего стола",
        "apaguei tudo do whatsapp",
        "было приятно с вами познакомиться",
        "ne vizhu poslednee soobshenie v chate",
        "não vou estar no teu aniversário porque vou viajar",
    ],
)
def test_their_everyday_look_alikes_stay_quiet(safety: Safety, everyday: str) -> None:
    assert safety.screen.verdict(everyday).level is Level.NONE


@pytest.mark.parametrize("said", ["я покончу с собой", "pokonchu s soboi segodnya"])
def test_the_future_form_of_i_will_kill_myself_gets_the_full_reply(safety: Safety, said: str) -> None:
    assert safety.screen.verdict(said).level is Level.CLEAR


@pytest.mark.parametrize(
    "quiet",
    [
        "lost the contract today. its fine, everything is sorted for my wife now",
        "weirdly calm tonight. totally at peace with the decision",
        "i left you a letter in the drawer, don't open it early",
        "put a note on the fridge for u, open it tomorrow and not before",
        "if u see her, tell my daughter i was always so proud of her",
        "please tell my dad i always loved him, even when we fought",
        "handed the keys back, moving out by friday. not going anywhere else",
        "remember me whenever you listen to that album ok",
        "sorry for the pain im about to put you all through",
        "spent sunday writing which of my kids gets what on the back of the photos",
        "otra vez el jefe gritandome. me quiero tragar la caja de tramadol, tomarmelas todas",
        "encontre los somniferos de mi abuela. a ver que pasa",
        "fui al puente del rio y ya se por donde se puede saltar la barandilla",
        "triste de seguir viva otro dia mas",
        "voy a intentarlo de nuevo y esta vez lo hago bien",
        "dile a mi hermana que la quiero mucho",
        "bati o elastico no pulso a tarde toda",
        "fui na ponte de noite e vi onde da pra pular a grade",
        "fico decepcionada quando acordo",
        "vou tentar de novo e dessa vez fazer direito",
        "diz pra minha irma que eu amo ela, ta",
        "je sais plus si ça vaut la peine de vivre",
        "encore déçu de me réveiller ce matin",
        "dis à mon frère que je l'aime",
        "noch die schlaftabletten von oma da. mal schauen was passiert",
        "wieder aufgewacht und enttäuscht",
        "порезы глубже чем обычно, кровь не останавливается",
        "wrote them all letters, told them to read it once im gone",
        "опять резался вчера ночью",
        "завидую мертвым, им уже не больно",
        "обидно что я опять проснулась",
        "передай папе что я его люблю",
    ],
)
def test_the_twentieth_sessions_quiet_signs_get_the_question(safety: Safety, quiet: str) -> None:
    assert safety.screen.verdict(quiet).level >= Level.POSSIBLE


@pytest.mark.parametrize(
    "quiet",
    [
        "bati o elastico no pulso a tarde toda ate sangrar",
        "ontem fiquei estalando a liga no pulso",
        "опять резался вчера ночью",
        "снова начал резаться после экзаменов",
    ],
)
def test_the_twentieth_sessions_narrowest_signs_are_kept(safety: Safety, quiet: str) -> None:
    verdict = safety.screen.verdict(quiet)
    assert verdict.level >= Level.POSSIBLE
    assert verdict.kept


@pytest.mark.parametrize(
    "everyday",
    [
        "at peace with my decision to put the dog down, he was suffering",
        "pub quiz answers are in the envelope, don't open it early",
        "tell my mum i always loved her lasagna",
        "worn out by this week. not going anywhere this weekend",
        "sorry for what i'm about to do to this pizza",
        "which kid gets what chore is a daily fight",
        "moving to canada!! remember me when you hear this song",
        "у малыша начали резаться зубки, не спим",
        "у сына коренные начали резаться",
        "bati o elastico no pulso pra prender o cabelo",
        "резались с пацанами в карты до утра",
        "когда то я резалась, сейчас все хорошо",
        "надо зашить дырку на джинсах, но в ателье не пойду",
        "tengo que tomarme 12 pastillas diarias desde el trasplante",
        "acabei de tomar um monte de remedios, to com virose",
        "pastillas para el acne, a ver que pasa",
        "frustrada por despertarme a las 5",
        "déçue de me réveiller à 6h un samedi",
        "dile a mi mama que la quiero y que manana la llamo",
    ],
)
def test_the_reviews_look_alikes_of_the_twentieth_sessions_signs_are_not_kept(safety: Safety, everyday: str) -> None:
    verdict = safety.screen.verdict(everyday)
    assert verdict.level < Level.CLEAR
    assert not verdict.kept


@pytest.mark.parametrize(
    "burnt",
    [
        "me queme el brazo con la plancha porque queria sentir algo",
        "me queme la mano con la sarten. no fue un accidente",
    ],
)
def test_a_kitchen_burn_said_to_be_on_purpose_is_not_blanked(safety: Safety, burnt: str) -> None:
    assert safety.screen.verdict(burnt).level >= Level.POSSIBLE


@pytest.mark.parametrize(
    "everyday",
    [
        "everything's sorted for the kids sleepover on saturday",
        "at peace with my decision to leave uni, its the right call",
        "its your birthday card, don't open it early!!",
        "moving out on the 1st, not going anywhere far tho, just across town",
        "remember me when ur famous lol",
        "sorry for the mess im about to cause in the kitchen",
        "which kid gets the big bedroom is a war in this house",
        "se me cayo la caja de pastillas para la alergia, a ver que farmacia abre",
        "en el puente del parque hay un sitio donde se puede pasar la valla para bajar al rio con el perro",
        "fomos na ponte e tem um lugar onde da pra passar a grade pra pescar",
        "he intentado el examen otra vez, y esta vez salio bien",
        "me queme el brazo con la plancha, que torpe",
        "queimei a mão na frigideira fazendo batata",
        "ça vaut le coup de voir ce film",
        "on est passés par le pont pour le footing",
        "режемся в доту всю ночь",
        "два года назад я резалась, сейчас все хорошо",
        "передай маме что я заеду в субботу",
    ],
)
def test_the_twentieth_sessions_look_alikes_stay_quiet(safety: Safety, everyday: str) -> None:
    assert safety.screen.verdict(everyday).level is Level.NONE


@pytest.mark.parametrize(
    "taken",
    [
        "acabo de tomarme 30 pastillas de ibuprofeno",
        "me acabo de tragar un monton de rivotril",
        "acabei de tomar uns 25 comprimidos de rivotril",
        "acabo de engolir a cartela toda de paracetamol",
    ],
)
def test_pills_just_taken_said_with_the_infinitive_get_the_question(safety: Safety, taken: str) -> None:
    assert safety.screen.verdict(taken).level >= Level.POSSIBLE


@pytest.mark.parametrize(
    "seen",
    [
        "cuando paso por el puente corriendo veo a los chavales saltar la valla del parque",
        "en el edificio nuevo los obreros tienen que subir andamios todo el dia",
    ],
)
def test_others_jumping_or_climbing_near_a_bridge_or_a_building_get_no_full_reply(safety: Safety, seen: str) -> None:
    assert safety.screen.verdict(seen).level < Level.CLEAR


@pytest.mark.parametrize(
    "said", ["estoy en el puente, quiero saltar", "en la azotea ya, me tiro", "me dan ganas de saltar del balcon"]
)
def test_wanting_to_jump_from_a_bridge_or_a_roof_still_gets_the_full_reply(safety: Safety, said: str) -> None:
    assert safety.screen.verdict(said).level is Level.CLEAR


@pytest.mark.parametrize(
    "said",
    [
        "me tome todas las pastillas que habia en casa",
        "tomei todos os comprimidos da caixa",
        "diz pra minha mae que eu amo ela",
        "comprei gilete de novo",
    ],
)
def test_their_risk_statements_still_get_the_full_reply(safety: Safety, said: str) -> None:
    assert safety.screen.verdict(said).level is Level.CLEAR


@pytest.mark.parametrize(
    "overdose",
    [
        "tomei todos os calmantes da minha tia",
        "engoli o frasco inteiro de clonazepam",
        "tomei as pilulas todas de uma vez",
        "me tragué todos los ansiolíticos de golpe",
        "me tomé todas las pastillas de la noche juntas",
        "me tome todo el frasco de pastillas que me dio el medico pa dormir",
    ],
)
def test_all_the_pills_in_spanish_and_portuguese_get_the_full_reply(safety: Safety, overdose: str) -> None:
    assert safety.screen.verdict(overdose).level is Level.CLEAR


@pytest.mark.parametrize(
    ("everyday", "at_most"),
    [
        ("tomei todas ontem na festa kkkk", Level.NONE),  # "tomar todas": a night of drinking
        ("engoli todas as criticas calado", Level.NONE),
        ("tomei todas as medidas de seguranca", Level.NONE),
        ("tome todos los apuntes de la clase", Level.NONE),
        ("me tomé todas las vitaminas del día", Level.NONE),
        # a routine or an instruction: the question at most, since a person may still mean it
        ("tenho que tomar todos os comprimidos do tratamento certinho", Level.POSSIBLE),
        ("tomate todas las pastillas que te recetó la doctora", Level.POSSIBLE),
        ("no te olvides de tomarte todas las pastillas del viaje", Level.POSSIBLE),
    ],
)
def test_taking_all_of_something_else_or_a_routine_is_no_overdose(
    safety: Safety, everyday: str, at_most: Level
) -> None:
    assert safety.screen.verdict(everyday).level <= at_most


@pytest.mark.parametrize(
    ("said", "at_least"),
    [
        # a platform, a bridge or a roof, and next time not stepping back; sitting on the edge
        ("stand gestern lange an den gleisen und hab ernsthaft überlegt", Level.POSSIBLE),
        ("estuve en el puente mirando el agua. la otra vez no me echo atras", Level.POSSIBLE),
        ("fiquei no viaduto uma hora. na proxima vez nao volto atras", Level.POSSIBLE),
        ("j'étais sur le pont ce soir. la prochaine fois je ne reculerai pas", Level.POSSIBLE),
        ("стояла на мосту и смотрела вниз. в следующий раз не передумаю", Level.POSSIBLE),
        ("посидела на краю балкона минут десять", Level.POSSIBLE),
        # a place or a day chosen
        ("ja decidi o dia, depois do natal", Level.POSSIBLE),
        ("j'ai déjà choisi la date", Level.POSSIBLE),
        ("уже выбрала день", Level.POSSIBLE),
        ("ich hab mir schon den tag ausgesucht", Level.POSSIBLE),
        # easier not to be here; the last conversation; letters one for each
        ("seria un alivio para todos no despertar", Level.POSSIBLE),
        ("ce serait plus simple pour tout le monde de disparaitre", Level.POSSIBLE),
        ("essa é minha ultima mensagem pra vc", Level.POSSIBLE),
        ("j'ai laissé des mots dans le tiroir, un pour chacun", Level.POSSIBLE),
        # self-harm, pills counted, eating disorder
        ("sigo cortandome los brazos a escondidas", Level.POSSIBLE),
        ("cocei o braço ate sair sangue de novo", Level.CLEAR),
        ("hab grad 25 ibuprofen geschluckt", Level.CLEAR),
        ("hoy solo un yogur y aun asi me doy asco", Level.POSSIBLE),
        # English goodbyes
        ("gave my guitar to my cousin, wont need it where im headed", Level.POSSIBLE),
        ("going to be extra cheerful at dinner so dad doesnt suspect it's the last one", Level.POSSIBLE),
        ("can my facebook be memorialised once i'm gone", Level.POSSIBLE),
    ],
)
def test_quiet_signs_of_the_twenty_first_sessions_probes_as_classes(safety: Safety, said: str, at_least: Level) -> None:
    assert safety.screen.verdict(said).level >= at_least


@pytest.mark.parametrize(
    "everyday",
    [
        "stand ewig am bahnsteig, zug hatte 40 minuten verspätung",
        "la proxima vez no me echo atras en la entrevista, pido mas sueldo",
        "ja escolhi o lugar da festa de aniversario",
        "j'ai choisi l'endroit pour notre pique-nique",
        "mi ultimo mensaje antes de las vacaciones: feliz verano a todos",
        "me estoy cortando el pelo yo sola, llevo meses cortandome el flequillo",
        "me arranhei toda nos mosquitos do sítio",
        "won't need a coat where i'm going, 32 degrees in bali",
        "my last request before the holidays: please file your timesheets",
        "my nan's facebook got memorialised, it's nice to read the old posts",
    ],
)
def test_their_everyday_look_alikes_get_no_full_reply(safety: Safety, everyday: str) -> None:
    assert safety.screen.verdict(everyday).level < Level.CLEAR


@pytest.mark.parametrize(
    "everyday",
    [
        "me rasqué las picaduras de las pulgas hasta sangrar",
        "cocei as pernas até sangrar, é alergia",
        "расчесал укусы комаров до крови, вот же зуд",
        "c'est mon dernier message du jour, bonne nuit",
        "essa é a minha última mensagem do grupo, vou sair",
        "выбрала место для пикника",
        "j'ai choisi la date du déménagement",
        "me corté afeitándome, me afeito con prisa",
    ],
)
def test_older_patterns_leave_bites_shaving_and_plans_alone(safety: Safety, everyday: str) -> None:
    assert safety.screen.verdict(everyday).level < Level.CLEAR


@pytest.mark.parametrize(
    "harm",
    [
        "me rasqué el brazo hasta sangrar",
        "cocei o braço até sangrar de propósito",
        "расцарапала руки до крови",
        "me corto con la cuchilla de afeitar",
    ],
)
def test_the_same_patterns_still_read_self_harm(safety: Safety, harm: str) -> None:
    assert safety.screen.verdict(harm).level is Level.CLEAR


def test_a_sentence_pattern_reads_a_long_run_on_sentence_to_its_end() -> None:
    run_on = "so i failed the exam and " + "then i went home and " * 30 + "i gave it away"
    assert len(run_on) > 600 and re.search(within_a_sentence(r"\bgave\b", r"\bold\b"), run_on)


@pytest.mark.parametrize(
    ("said", "level"),
    [
        # an exclusion for holidays, events or itches must not take a goodbye, a plan or a cover story
        ("última mensagem antes de eu sumir de vez", Level.CLEAR),
        ("dernier message avant que je m'en aille pour toujours", Level.CLEAR),
        ("выбрала место на крыше", Level.CLEAR),
        ("já escolhi a data da minha morte", Level.CLEAR),
        ("j'ai fixé la date pour en finir", Level.CLEAR),
        ("i keep picking at my arms till they bleed and tell everyone it's eczema", Level.POSSIBLE),
        ("me rasco hasta sangrar y les digo que es alergia", Level.POSSIBLE),
        ("tomei todos que a médica me receitou de uma vez só", Level.CLEAR),
        ("me tragué todas las que me dio la psiquiatra", Level.POSSIBLE),
    ],
)
def test_exclusions_leave_real_goodbyes_plans_and_cover_stories(safety: Safety, said: str, level: Level) -> None:
    assert safety.screen.verdict(said).level >= level


@pytest.mark.parametrize(
    ("said", "at_least"),
    [
        # pills counted and taken on purpose
        ("hab 30 schlaftabletten genommen, mit absicht", Level.CLEAR),
        ("me tomé 20 pastillas de clonazepam a propósito", Level.CLEAR),
        ("j'ai avalé 40 cachets de doliprane, volontairement", Level.CLEAR),
        ("tomei 15 rivotril de propósito", Level.CLEAR),
        ("проглотила 20 таблеток снотворного нарочно", Level.CLEAR),
        # charcoal and the gaps of a room sealed
        ("ich hab die holzkohle schon im bad und die tür abgedichtet", Level.CLEAR),
        ("compré carbón y sellé las ventanas del cuarto", Level.CLEAR),
        ("comprei carvão e fita pra vedar a porta do banheiro", Level.CLEAR),
        ("j'ai acheté du charbon et je vais calfeutrer la salle de bain", Level.CLEAR),
        ("купила уголь, заклеила щели в ванной", Level.CLEAR),
        # said outright; a lethal dose of my own medicine
        ("me quito la vida esta noche, ya está", Level.CLEAR),
        ("j'ai trouvé la dose mortelle de mes médocs", Level.CLEAR),
        ("busqué la dosis letal de mi medicación anoche", Level.POSSIBLE),
        # which floor is enough; hoping to be run over; holding back from cutting; fasting to a number
        ("ab welchem stockwerk ist es sicher tödlich", Level.POSSIBLE),
        ("desde qué piso es mortal una caída", Level.POSSIBLE),
        ("à partir de quel étage on meurt sûrement", Level.POSSIBLE),
        ("с какого этажа наверняка", Level.POSSIBLE),
        ("torcendo pra um ônibus me atropelar", Level.POSSIBLE),
        ("j'espère qu'une voiture me renverse demain", Level.POSSIBLE),
        ("хочется чтобы меня сбила машина", Level.POSSIBLE),
        ("ich muss mich zusammenreißen, mich nicht zu ritzen", Level.POSSIBLE),
        ("3 dias de jejum, quero chegar aos 42", Level.POSSIBLE),
        # English: an unfinished 'before'; a life policy's payout; wishing it had been me who died
        ("recorded one last video for them before", Level.POSSIBLE),
        ("checked my life insurance and asked how quickly it pays out", Level.POSSIBLE),
        ("saw the crash on the news and wished it had been me", Level.POSSIBLE),
    ],
)
def test_signs_of_the_twenty_second_sessions_probes_as_classes(safety: Safety, said: str, at_least: Level) -> None:
    assert safety.screen.verdict(said).level >= at_least


@pytest.mark.parametrize(
    "everyday",
    [
        "comprei carvão pro churrasco e vedei a garrafa de cachaça",
        "compramos carbón y cinta para la fiesta",
        "la dosis letal del paracetamol entra en el examen de farmacología",
        "ab welchem stockwerk hat man aussicht auf den dom",
        "ich muss mir die haare schneiden lassen",
        "i've never felt this tired before",
        "he lied to me before",
        "i had to call the landlord, the boiler broke down before",
        "my dad died and i'm the beneficiary, how long does it take to pay out",
        "my mate walked away from the crash without a scratch, i wish that was me",
        "t'habites à quel étage sur la rue voltaire ?",
        "j'espère qu'aucune voiture me renverse, je rentre sans lumière",
        "tomara que o carro da empresa venha me pegar amanhã",
        "tô fazendo jejum pro exame e tenho que chegar em 15 minutos",
        "купили уголь для шашлыка и заклеили окна на зиму",
        "надеюсь меня не собьет самокатчик",
        "с какого этажа лучше вид на море",
        "ich muss mich beim kochen zusammenreißen, mich nicht zu schneiden",
        "tp de pharmaco : la dose létale de ma molécule chez la souris",
        "me tomé 2 ibuprofenos por el dolor de muela",
    ],
)
def test_the_twenty_second_sessions_look_alikes_stay_quiet(safety: Safety, everyday: str) -> None:
    assert safety.screen.verdict(everyday).level is Level.NONE


@pytest.mark.parametrize(
    "everyday",
    [
        # something burnt on me, burnt out at work, a fright, a bump, a joke about a song
        "se me quemó la tortilla y el humo llenó la cocina",
        "me quemé un montón en el trabajo este año, necesito vacaciones",
        "me pegué un susto cuando sonó el timbre",
        "me pegué un golpe con la mesa de la sala",
        "me golpeé la rodilla jugando al pádel",
        "me pego un tiro si vuelven a poner ese reguetón jsjs",
        # a view from a window, a roof mended or blown off, a novel's heroine
        "el gato mira por la ventana todo el día",
        "вид из окна на парк просто шикарный",
        "нам наконец перекрыли крышу на даче",
        "от этой новости у меня крышу сносит",
        "в книге героиня бросилась под поезд, пишем эссе",
        # diving into water from a cliff
        "queremos saltar desde el acantilado al agua en las vacaciones",
        # a few pills for a headache
        "выпил таблетку от головы и лёг спать",
        "me tragué las pastillas del antibiótico con leche",
        # a barbecue outside and a draught under the door
        "we did a charcoal bbq on the patio and put a towel under the door to keep the draught out",
    ],
)
def test_the_twenty_third_sessions_older_patterns_leave_accidents_and_idioms_alone(
    safety: Safety, everyday: str
) -> None:
    assert safety.screen.verdict(everyday).level is not Level.CLEAR


@pytest.mark.parametrize(
    "said",
    [
        "me quemo los brazos con el mechero cuando me odio",
        "me rasguño las piernas hasta sangrar",
        "mi novio me pegó anoche delante de su familia",
        "pienso en tirarme desde la azotea del edificio",
        "quiero saltar del puente esta noche",
        "хочу прыгнуть с моста",
        "нашёл крышу с открытой дверью, поднимусь в субботу",
        "me tomé unas pastillas con vino y no sé cuántas",
        "me tomé las pastillas que tenía guardadas",
        "наглоталась таблеток и мне страшно",
        "выпила таблетки, не считала сколько",
        "me kiero kitar la bida",
        "ya kupil verevku",
        "lit the charcoal and stuffed towels under the bathroom door",
        "puse toallas debajo de la puerta y prendí el carbón",
        "handtücher unter die tür, die kohle glüht schon",
        "coloquei toalhas debaixo da porta e acendi o carvão",
        "j'ai mis des serviettes sous la porte, le charbon est allumé",
        "положила полотенца под дверь и разожгла угли",
    ],
)
def test_the_same_patterns_read_harm_with_the_means_named(safety: Safety, said: str) -> None:
    assert safety.screen.verdict(said).level is Level.CLEAR


@pytest.mark.parametrize(
    "everyday",
    [
        # someone else's crisis, told by a friend or relative
        "mein kumpel hat mir erzählt dass er sich umbringen will, was soll ich tun",
        "mi hermana se autolesiona y no sé cómo hablarle",
        "mon cousin a fait une overdose le mois dernier, il va mieux",
        "minha prima tentou se matar semana passada, ela tá internada",
        "сестра пыталась покончить с собой, сейчас в больнице",
        # a crisis clearly past
        "vor sechs jahren hatte ich suizidgedanken, heute bin ich glücklich verheiratet",
        "hace cinco años intenté suicidarme, hoy me gradué",
        "il y a quatre ans j'ai fait une tentative de suicide, aujourd'hui je suis infirmière",
        "faz cinco anos que tentei me matar, hoje tô bem",
        "пять лет назад я резала себя, сейчас всё хорошо",
        # a parent or an exam that will 'kill me'
        "mi madre me va a matar cuando vea las notas jaja",
        "ma mère va me tuer si elle voit ça 😂",
        "meu pai vai me matar quando souber da multa kkk",
    ],
)
def test_other_languages_read_someone_elses_or_a_past_crisis_as_such(safety: Safety, everyday: str) -> None:
    assert safety.screen.verdict(everyday).level is Level.NONE


@pytest.mark.parametrize(
    ("said", "at_least"),
    [
        # a friend's crisis, then mine
        ("mi amiga se suicidó y yo también quiero morir", Level.CLEAR),
        ("meine schwester hat sich umgebracht und ich will auch nicht mehr leben", Level.CLEAR),
        ("брат покончил с собой, я тоже не хочу жить", Level.CLEAR),
        # a past attempt, and again now
        ("hace dos años intenté matarme y ahora lo estoy pensando otra vez", Level.CLEAR),
        ("vor zwei jahren hab ich versucht mich umzubringen, jetzt denk ich wieder dran", Level.CLEAR),
        ("au lycée je me scarifiais et depuis hier j'ai recommencé", Level.CLEAR),
        ("na escola eu me cortava e voltei a me cortar essa semana", Level.CLEAR),
        # wanting to follow someone who died
        ("mi hermano se mató y quiero irme con él", Level.POSSIBLE),
        ("mon père est mort et je voudrais le rejoindre", Level.POSSIBLE),
        ("minha irmã se matou e eu quero ir junto", Level.POSSIBLE),
        ("meine oma ist gestorben, ich möchte zu ihr", Level.POSSIBLE),
        ("мама умерла, хочу к ней", Level.POSSIBLE),
        ("my brother killed himself last year and i want to join him", Level.POSSIBLE),
    ],
)
def test_their_blanks_leave_the_writers_own_risk(safety: Safety, said: str, at_least: Level) -> None:
    assert safety.screen.verdict(said).level >= at_least


@pytest.mark.parametrize(
    "said",
    [
        "tu n'entendras plus jamais parler de moi",
        "ya no van a saber nada de mí, gracias por todo",
        "ninguém vai mais ouvir falar de mim",
        "du wirst nie mehr was von mir hören",
        "ты больше никогда не услышишь обо мне",
        "dites à ma sœur que je l'aimais",
        "sagt papa dass ich ihn lieb gehabt hab",
        "se o ônibus me pegar amanhã tanto faz",
        "wenn mich ein lkw erwischt wär mir das auch recht",
        "если меня переедет автобус, мне все равно",
        "приняла слишком много снотворного, сплю на ходу",
    ],
)
def test_round_sixs_quiet_signs_in_other_languages_get_the_question(safety: Safety, said: str) -> None:
    assert safety.screen.verdict(said).level >= Level.POSSIBLE


@pytest.mark.parametrize(
    "everyday",
    [
        "tu n'entendras plus parler de moi pendant deux semaines, je pars en vacances",
        "no van a saber nada de mí hasta después de los exámenes",
        "ihr werdet bis montag nix von mir hören, prüfungsphase",
        "вы неделю ничего обо мне не услышите, уезжаю в отпуск",
        "вчера выпил слишком много кофе и не спал",
    ],
)
def test_round_sixs_look_alikes_in_other_languages_stay_quiet(safety: Safety, everyday: str) -> None:
    assert safety.screen.verdict(everyday).level is Level.NONE


@pytest.mark.parametrize(
    ("said", "level"),
    [
        ("set the letter to send itself for after i'm no longer around", Level.POSSIBLE),
        ("honestly don't know why i'm still hanging around", Level.NONE),
        ("i don't see what i'm even still here for", Level.POSSIBLE),
        ("sort the handover for after i'm not around, i'm on maternity leave from june", Level.NONE),
        ("not sure what i'm still hanging around for at this company", Level.NONE),
    ],
)
def test_round_sixs_english_after_im_not_around_and_what_im_here_for(safety: Safety, said: str, level: Level) -> None:
    assert safety.screen.verdict(said).level is level


@pytest.mark.parametrize(
    ("said", "level"),
    [
        ("mandé mi carta de despedida a los compañeros, mañana es mi último día", Level.NONE),
        ("a festa de despedida é sexta, vou morar no porto", Level.NONE),
        ("escribí mi carta de despedida. ya no aguanto más", Level.CLEAR),
        ("essa é minha carta de despedida pra vocês", Level.CLEAR),
    ],
)
def test_a_farewell_at_work_or_before_a_move_is_no_goodbye(safety: Safety, said: str, level: Level) -> None:
    assert safety.screen.verdict(said).level is level


@pytest.mark.parametrize(
    ("said", "level"),
    [
        ("мама увидит дневник и меня убьёт ахаха", Level.NONE),
        ("wenn mein vater das sieht bin ich tot lol", Level.NONE),
        ("папа меня убьет лол, уже достал ремень", Level.CLEAR),
        ("mi papá me va a matar cuando llegue, ya sacó el cinturón jaja", Level.CLEAR),
        ("ma mère va me tuer quand elle rentre, elle a pris le couteau mdr", Level.CLEAR),
    ],
)
def test_a_parent_who_will_kill_me_is_a_figure_of_speech_unless_a_weapon_or_blow_is_named(
    safety: Safety, said: str, level: Level
) -> None:
    assert safety.screen.verdict(said).level is level


@pytest.mark.parametrize(
    "said",
    [
        # my own crisis named as a bare noun beside someone I mention, or my own age and sex given
        "meine freundin hat mich verlassen, selbstmord ist der einzige ausweg",
        "mi novia me dejó y anoche me tomé una sobredosis",
        "soy una chica de 16 y ayer intenté quitarme la vida",
        # a past attempt, and now again, or a past without it
        "hace un año intenté matarme y esta vez lo voy a lograr",
        "два года назад пыталась покончить с собой, теперь думаю повторить",
        "mit 17 hatte ich nie suizidgedanken, jetzt jeden tag",
        "hab grad mit 40 schlaftabletten ne überdosis genommen",
        # a parent who will kill me, really
        "mi padre me va a matar cuando salga de la cárcel",
        "mon père va me tuer quand il sortira de prison",
        # a partner who hit me after a match; a train without a verb; a roof with a reason
        "mi novio me golpeó después del partido",
        "хочется под поезд",
        "причина одна, я иду на крышу",
    ],
)
def test_the_eighth_reviews_risk_is_not_blanked(safety: Safety, said: str) -> None:
    assert safety.screen.verdict(said).level >= Level.POSSIBLE


@pytest.mark.parametrize(
    "said",
    [
        "my sister hanged herself in may and i just want to go be with her",
        "since mum died i keep telling myself i'll be with her soon",
        "mein opa ist gestorben und ich will zu ihm",
        "mi papá falleció y pienso en irme con él",
        "mon frère s'est suicidé, je veux le rejoindre",
        "minha mãe morreu e eu quero ir com ela",
        "папа умер, хочу к нему",
    ],
)
def test_wanting_to_follow_someone_who_died_is_a_question_the_readers_keep(safety: Safety, said: str) -> None:
    verdict = safety.screen.verdict(said)
    assert verdict.level >= Level.POSSIBLE
    assert verdict.kept


@pytest.mark.parametrize(
    "everyday",
    [
        "my grandad died last spring and i want to do the same as him and become a nurse",
        "meine oma ist gestorben, ich möchte es ihr gleichtun und ärztin werden",
        "mi abuelo murió y quiero hacer lo mismo que él, abrir una panadería",
        "she smashed it in the half marathon, i want to do the same next year",
    ],
)
def test_following_someone_who_died_into_a_calling_is_no_sign(safety: Safety, everyday: str) -> None:
    assert safety.screen.verdict(everyday).level is Level.NONE


@pytest.mark.parametrize(
    "said",
    [
        # after an attempt, this time it will work
        "after my overdose in march they pumped my stomach. next time i'll get it right",
        "j'ai fait une TS l'an dernier, la prochaine fois je me louperai pas",
        "tuve una sobredosis en enero, la próxima vez no me despierto",
        "fiz uma tentativa de suicídio ano passado, desta vez não vou falhar",
        "nach dem suizidversuch im winter: nächstes mal schaff ich es",
        "год назад откачали, в этот раз доведу до конца",
        # killing me if I go to the police, tell anyone or leave him
        "my stepdad will kill me if i ever call the police",
        "er bringt mich um wenn ich ihn verlasse",
        "o meu namorado disse que me mata se eu for na polícia",
        "ma mère va me tuer si je dis à quelqu'un ce qu'elle fait",
        # someone else's self-harm and now mine; self-harm I used to do, back again
        "my roommate cuts herself and now i'm cutting too",
        "mi hermana se corta y ahora yo también",
        "i used to burn myself at uni and last night i did it again",
        "me cortava no ensino médio e voltei a fazer isso",
        # the gaps stopped in the other order; the rope ready in translit; the reflexive first
        "угли в ведре, заткнул щели в двери полотенцами",
        "charbon dans la salle de bain, serviettes dans les fentes",
        "verevka uzhe kuplena",
        "иногда хочется себя убить",
        # a blade on a thigh or arm; a lighter, so as not to think
        "hab mir gestern wieder in den arm geritzt",
        "je me suis coupée avec un cutter pour ne plus ressentir",
    ],
)
def test_the_eighth_reviews_remaining_misses_as_classes(safety: Safety, said: str) -> None:
    assert safety.screen.verdict(said).level is Level.CLEAR


@pytest.mark.parametrize(
    "everyday",
    [
        "my first attempt at the driving test went badly, this time i won't fail",
        "my boss will kill me if i leave early again",
        "minha mãe vai me matar se eu largar o cursinho kkk",
        "mi prima se cortó el flequillo y yo también",
        "je me suis brûlée avec le four en sortant le gratin",
        "hab mir beim kochen in den finger geschnitten",
        "la clase de spinning me mató, no siento las piernas jaja",
        "i won't be needing my work laptop after friday so i'm handing it back",
        "this time last year i was giving my stuff away because i wanted to die. today i got engaged",
    ],
)
def test_their_look_alikes_stay_quiet(safety: Safety, everyday: str) -> None:
    assert safety.screen.verdict(everyday).level is Level.NONE


@pytest.mark.parametrize(
    "said",
    [
        # when I am no longer here, in four more languages
        "cuando ya no esté, dale de comer a mi perro",
        "quand je ne serai plus là, garde mes dessins",
        "quando eu não estiver mais aqui, fica com o meu violão",
        "когда меня не станет, отдай мои книги брату",
        # a pet handed over with "it loves you"
        "can u take my milo, he loves you more than me anyway",
        "quédate con la michi, ella te adora",
        "забери моего кота, он тебя обожает",
        # seeing someone who died soon; savings to a child; "it's been real"; I won't be playing any more
        "visited dad's grave and promised i'd see him again soon",
        "transferring all my savings to my son tomorrow",
        "deleted my accounts. it's been real. bye 👋",
        "you can have my guitar, not gonna be playing it anymore",
        "i leave my records to my brother, he'll know what to do with them",
        "wrote down everything my wife needs to handle after, the accounts and the car",
        # once the others are away, that will be the moment; the highest bridge
        "my parents go away on saturday, that'll be the night",
        "mes parents partent en vacances lundi, ce sera le moment",
        "ищу самый высокий мост в городе",
    ],
)
def test_round_sevens_goodbyes_and_plans_get_the_question(safety: Safety, said: str) -> None:
    assert safety.screen.verdict(said).level >= Level.POSSIBLE


@pytest.mark.parametrize(
    "everyday",
    [
        "cuando ya no esté en la oficina te paso mis clientes",
        "quand je serai plus là demain, arrose les tomates",
        "когда меня не будет дома, полей цветы",
        "moving my savings to my daughter's account for her house deposit",
        "last day at the company today, it's been real 👋",
        "you can have my bike, not gonna be riding it anymore since i bought a new one",
        "my parents are away this weekend, that'll be my chance to have people over",
        "take the dog for a walk, he loves you",
    ],
)
def test_round_sevens_look_alikes_stay_quiet(safety: Safety, everyday: str) -> None:
    assert safety.screen.verdict(everyday).level is Level.NONE


@pytest.mark.parametrize(
    ("said", "level"),
    [
        ("il m'a poussée contre la porte hier soir", Level.CLEAR),
        ("ele me prensou contra a parede e apertou meu pescoço", Level.CLEAR),
        ("ce soir je me suis encore fait du mal, j'ai honte", Level.CLEAR),
        ("je me suis fait du mal en courant, entorse", Level.NONE),
        ("à quoi bon de continuer", Level.POSSIBLE),
        ("j'ai repéré le pont, celui près de la gare", Level.POSSIBLE),
        ("j'ai trouvé le pont pour la photo de mariage", Level.NONE),
        ("i've found the bridge, the one over the motorway", Level.POSSIBLE),
        ("я родителям только обуза", Level.POSSIBLE),
        ("взвешиваюсь по несколько раз в день, ем раз в три дня", Level.POSSIBLE),
        ("выбрал мост, тот что у вокзала", Level.POSSIBLE),
        ("dei minha bicicleta pro meu irmão, não vou mais precisar", Level.POSSIBLE),
        ("comprei um notebook novo, não vou mais precisar do antigo", Level.NONE),
        ("regalé mi guitarra, ya no la voy a necesitar", Level.POSSIBLE),
        ("me volví a hacer daño en la rodilla jugando al fútbol", Level.NONE),
    ],
)
def test_devs_misses_as_classes_and_their_look_alikes(safety: Safety, said: str, level: Level) -> None:
    assert safety.screen.verdict(said).level is level


@pytest.mark.parametrize(
    ("said", "level"),
    [
        # a handover or a sale is said in phrases, so moving on, a decision or 'for good' keep the sign
        ("won't be needing my meds, i'm moving on from everything", Level.CLEAR),
        ("i won't be needing my passport, i've made my decision", Level.CLEAR),
        ("won't be needing my desk chair, we're moving to leeds next month", Level.NONE),
        # following the dead: 'passed' as a death, not an exam; the same thing as them, not the same goal
        ("my brother passed in june and i want to go where he is", Level.POSSIBLE),
        ("my mate passed his driving test and i want to do the same by july", Level.NONE),
        # this time: after an attempt, not after a rescue or in recovery
        ("they saved me from the fire as a kid, this time i'll get it right at the fire drill", Level.NONE),
        (
            "since my overdose i've been clean a year, this time i'll get it right",
            Level.POSSIBLE,
        ),  # the bare word's question
        # a tackle, a throw at judo or a wave is no attack; a boss's secret is no threat
        ("au judo il m'a plaquée au sol dix fois", Level.NONE),
        ("no treino de luta ele me jogou no chão", Level.NONE),
        ("my boss will kill me if i tell anyone about the new logo", Level.NONE),
        ("my boyfriend will kill me if i break up with him", Level.CLEAR),
    ],
)
def test_the_ninth_and_tenth_reviews_breaks_are_mended(safety: Safety, said: str, level: Level) -> None:
    assert safety.screen.verdict(said).level is level


@pytest.mark.parametrize(
    ("said", "level"),
    [
        ("si voy a la policía mi ex me mata", Level.CLEAR),
        ("se eu der queixa ele vai me matar", Level.CLEAR),
        ("il a dit qu'il me tuerait si je portais plainte", Level.CLEAR),
        ("si voy a la policía por la multa mi viejo me mata jaja", Level.NONE),
        ("si je porte plainte contre le voisin ma mère va me tuer mdr", Level.NONE),
    ],
)
def test_a_threat_with_the_condition_first_or_in_the_conditional(safety: Safety, said: str, level: Level) -> None:
    assert safety.screen.verdict(said).level is level


@pytest.mark.parametrize(
    ("said", "level"),
    [
        # self-harm I used to do, back again, in five languages (the question in the other four: a gym or a stove
        # hurts people too); not a relapse that is over, a game or cooking
        ("cut a lot at uni, 3 years clean, relapsed on saturday", Level.CLEAR),
        ("i used to self harm as a teen and i never relapsed since, doing well", Level.NONE),
        ("quit cutting in 2020 but yesterday i started again", Level.CLEAR),
        ("stopped cutting my fringe myself and never did it again", Level.NONE),
        ("je me scarifiais au collège et ça reprend depuis lundi", Level.CLEAR),  # scarifier alone: the full reply
        ("je me faisais du mal avant, ça reprend depuis lundi", Level.POSSIBLE),
        ("je me coupais souvent en épluchant les légumes et j'ai recommencé", Level.NONE),
        ("eu me machucava de propósito quando era mais nova e recomecei", Level.CLEAR),
        ("eu me machucava direto no handebol e recomecei", Level.NONE),
        ("eu me machucava jogando bola e voltei", Level.NONE),
        ("в школе резался, теперь снова начал", Level.POSSIBLE),
        ("в школе резался в контру, теперь снова начал", Level.NONE),
        ("me cortaba picando cebolla y hoy otra vez", Level.NONE),
        ("me hice daño el tobillo corriendo", Level.NONE),
        # someone else's self-harm, and I began too
        ("my cousin cuts herself and tbh i began too", Level.CLEAR),
        # after a suicide, "i'm next"; after a death, wishing to go with them, soon with them again
        ("my dad hanged himself in may and i feel like i'm next", Level.POSSIBLE),
        ("ever since my wife died i keep wishing i could be with her", Level.POSSIBLE),
        ("mi papá falleció y me quiero ir con él", Level.POSSIBLE),
        ("meu irmão morreu e eu quero encontrar ele", Level.POSSIBLE),
        ("дедушка умер летом, скоро буду с ним", Level.POSSIBLE),
        ("vovó se foi, em breve estou com você", Level.POSSIBLE),
        ("maman est morte en mars, bientôt je te rejoins", Level.POSSIBLE),
        ("abuelito, pronto estaré contigo 🕊", Level.POSSIBLE),
        # the same words about the living: a visit, a funeral to help with, a family gathering
        ("mi abuela murió el año pasado, pronto nos veremos en navidad con la familia", Level.NONE),
        ("minha tia morreu, logo estou aí pra ajudar no enterro", Level.NONE),
        # a parent who 'will kill me' over a grade is a figure of speech in either word order
        ("папа убьет меня за тройку по физике", Level.NONE),
        ("отец убьет меня если я скажу кому-нибудь", Level.CLEAR),
    ],
)
def test_the_tenth_reviews_misses_as_classes(safety: Safety, said: str, level: Level) -> None:
    assert safety.screen.verdict(said).level is level


SIGNS_TOGETHER = (
    "together:\n"
    "  flurbs and blorts:\n"
    "    at_least: 2\n"
    "    signs:\n"
    "      a flurb: '\\bflurbed\\b'\n"
    "      a blort: '\\bblorted\\b'\n"
    "      a zib: '\\bzibbed\\b'\n"
    "    unless_message_has: a laugh or a song\n"
)


def with_signs_together(tmp_path: Path, rule: str = SIGNS_TOGETHER) -> Path:
    """A copy of ``conversations/`` whose screen.yaml has only ``rule`` under ``together``."""
    copy = tmp_path / "conversations"
    shutil.copytree(ROOT / "conversations", copy)
    screen = copy / "safety" / "screen.yaml"
    text = screen.read_text(encoding="utf-8")
    start, end = text.index("\ntogether:\n") + 1, text.index("\ntopics:\n") + 1
    screen.write_text(text[:start] + rule + text[end:], encoding="utf-8")
    return copy


def test_signs_together_give_the_kept_question_only_when_enough_of_them_are_there(tmp_path: Path) -> None:
    screen = load_safety(with_signs_together(tmp_path)).screen
    two = screen.verdict("i flurbed the lot today. then i blorted it all")
    assert (two.level, two.kept) == (Level.POSSIBLE, True)
    assert screen.verdict("i flurbed and flurbed again").level is Level.NONE  # one sign, counted once
    assert screen.verdict("i flurbed and zibbed, lol").level is Level.NONE  # the exclusion, anywhere
    assert screen.verdict("lol. i flurbed. much later i zibbed").level is Level.NONE


def test_words_one_sign_counted_are_not_counted_again_by_another(tmp_path: Path) -> None:
    overlapping = SIGNS_TOGETHER.replace("'\\bblorted\\b'", "'\\bflurbed it\\b'")
    screen = load_safety(with_signs_together(tmp_path, overlapping)).screen
    assert screen.verdict("i flurbed it").level is Level.NONE  # both signs would read the same words
    assert screen.verdict("i flurbed, then i flurbed it").level is Level.POSSIBLE
    assert screen.verdict("i flurbed it, then i flurbed").level is Level.POSSIBLE  # whichever comes first


FINALITY = SIGNS_TOGETHER.replace(
    "    unless_message_has:", "    with_one_of:\n      now or never: '\\bnow\\b'\n    unless_message_has:"
)


def test_a_word_of_finality_is_needed_too_in_words_of_its_own(tmp_path: Path) -> None:
    screen = load_safety(with_signs_together(tmp_path, FINALITY.replace("'\\bzibbed\\b'", "'\\bzibbed now\\b'"))).screen
    assert screen.verdict("i flurbed and blorted").level is Level.NONE  # two signs, no finality
    assert screen.verdict("i flurbed and blorted now").level is Level.POSSIBLE
    assert screen.verdict("i flurbed and zibbed now").level is Level.NONE  # "now" is the zib's own word
    assert screen.verdict("i flurbed, blorted and zibbed now").level is Level.POSSIBLE  # the zib is not needed


def test_signs_together_keep_a_full_reply_from_being_taken_away(tmp_path: Path) -> None:
    verdict = load_safety(with_signs_together(tmp_path)).screen.verdict("i flurbed and blorted. i want to kill myself")
    assert (verdict.level, verdict.kept) == (Level.CLEAR, True)


def test_signs_together_naming_a_broken_exclusion_report_it_once_at_its_own_line(tmp_path: Path) -> None:
    copy = with_signs_together(tmp_path)
    screen = copy / "safety" / "screen.yaml"
    text = screen.read_text(encoding="utf-8")
    screen.write_text(text.replace("  a laugh or a song: '", "  a laugh or a song: '\\b(lol|", 1), encoding="utf-8")
    (error,) = load_errors(copy)
    assert "screen.sentence_exclusions.a laugh or a song: not a valid pattern" in error


@pytest.mark.parametrize(
    ("rule", "wrong_at", "wrong"),
    [
        (SIGNS_TOGETHER.replace("at_least: 2", "at_least: 4"), "  flurbs and blorts:", "only 3 signs are listed"),
        (SIGNS_TOGETHER.replace("at_least: 2", "at_least: 1"), "    at_least: 1", "greater than or equal to 2"),
        (SIGNS_TOGETHER.replace("'\\bblorted\\b'", "'\\b(blorted'"), "      a blort: '\\b(blorted'", "not a valid"),
        (SIGNS_TOGETHER.replace("'\\bzibbed\\b'", "'(?#kept)zib'"), "      a zib: '(?#kept)zib'", "(?#kept)"),
        (SIGNS_TOGETHER.replace("'\\bzibbed\\b'", "'(zib)?'"), "      a zib: '(zib)?'", "matches an empty message"),
        (
            SIGNS_TOGETHER.replace("a laugh or a song", "a laugh or a snog"),
            "    unless_message_has: a laugh or a snog",
            "no exclusion named 'a laugh or a snog'",
        ),
        (
            SIGNS_TOGETHER.replace("a laugh or a song", "'\\b(lol'"),
            "    unless_message_has: '\\b(lol'",
            "not a valid pattern",
        ),
    ],
)
def test_a_wrong_signs_together_rule_is_reported_at_its_line(
    tmp_path: Path, rule: str, wrong_at: str, wrong: str
) -> None:
    copy = with_signs_together(tmp_path, rule)
    (error,) = load_errors(copy)
    assert error.startswith(f"{copy / 'safety' / 'screen.yaml'}:{line_in(copy, wrong_at)}: ")
    assert wrong in error


@pytest.mark.parametrize(
    ("said", "together"),
    [
        # affairs put in order one by one, no sign strong alone: three kinds and a word of finality give the kept
        # question
        (
            "the restaurant closed for good on friday and the bank wants the loan back. i spent sunday writing "
            "to my brother to say sorry for the christmas thing, and my guitar goes to his boy. the recipes are "
            "backed up so whoever reopens the place won't have to start from scratch. wanted to do that while i "
            "still can",
            True,
        ),
        (
            "failed the resit, so that's the degree gone. paid back everyone i owed from the flat. "
            "left my camera to my cousin, she always wanted it. texted my sister that i'm proud of her. no loose "
            "ends",
            True,
        ),
        # one or two kinds, three without a word of finality, or three on leaving a job, retiring, moving or a
        # will made, stay quiet
        ("gave my old bike to my nephew, he's been asking for months", False),
        (
            "finally quit the raid team. gave all my gear to my alt buddy, thanks everyone for everything",
            False,
        ),
        (
            "failed the resit. paid back everyone i owed, left my camera to my cousin, texted my sister that i'm "
            "proud of her",
            False,
        ),
        (
            "turned 40 so made a will. my records go to my nephew, paid back what i owed dad, told my mum i love "
            "her while i can",
            False,
        ),
        (
            "my last day at the firm: handover doc sent so whoever takes over won't have to start from scratch, "
            "my stapler goes to priya, and i called my mum to say thank you for everything",
            False,
        ),
        (
            "we're moving to lisbon in march, so i left my piano to my sister, paid back the money i "
            "borrowed from dad and cancelled the milk",
            False,
        ),
    ],
)
def test_affairs_put_in_order_together_are_a_quiet_goodbye(safety: Safety, said: str, together: bool) -> None:
    verdict = safety.screen.verdict(said)
    rule = safety.screen.english.together[0]
    assert rule.found(verdict.normal) is together
    assert verdict.kept is together  # nothing else kept fires on these
    if together:
        assert verdict.level is Level.POSSIBLE


@pytest.mark.parametrize(
    ("said", "level"),
    [
        # round 8 in English: God asked to forgive what comes; goodbye for real; free to go once debts are paid
        ("dear god forgive me for what i'm about to do tonight", Level.POSSIBLE),
        ("ok this is goodbye for good. thanks for listening", Level.POSSIBLE),
        ("rent paid, paid everyone back. now i can go.", Level.POSSIBLE),
        ("the decision's made and honestly nothing matters anymore", Level.POSSIBLE),
        ("decision is made, taking the job in leeds, feel so relieved", Level.NONE),
        ("wrote a letter to my dad, it's set to send on a timer next friday", Level.POSSIBLE),
        ("scheduled an email to my mum to be sent on her birthday", Level.NONE),
        # round 8 in the five languages
        ("ich bin kurz davor, mir etwas anzutun", Level.CLEAR),
        ("wozu noch weitermachen", Level.POSSIBLE),
        ("ich werde dir nicht mehr lange zur last fallen", Level.POSSIBLE),
        ("wenn mir was passiert, nimmst du bitte meinen hund", Level.POSSIBLE),
        ("mein chef nervt, noch ein meeting und ich spring vom dach lol", Level.NONE),
        ("estoy en la vía del tren pensando en tirarme", Level.POSSIBLE),
        ("me voy a tirar a la piscina en cuanto llegue", Level.NONE),
        ("le pido a dios que me lleve esta noche", Level.POSSIBLE),
        ("mi papá le está pegando a mi mamá otra vez", Level.CLEAR),
        ("este parcial de química me va a matar", Level.NONE),
        ("me da miedo subir aunque sea un kilo", Level.POSSIBLE),
        ("to quase a fazer uma besteira", Level.POSSIBLE),
        ("sou só um estorvo pra vocês", Level.POSSIBLE),
        ("rezo a deus que me leve logo", Level.POSSIBLE),
        ("tu pourrais garder mon chat si jamais ?", Level.POSSIBLE),
        ("si vous n'avez pas de nouvelles de moi dimanche, occupez-vous du chien", Level.POSSIBLE),
        ("si t'as pas de nouvelles pendant les vacances c'est normal", Level.NONE),
        ("раздал гантели, мне они уже ни к чему", Level.POSSIBLE),
        ("отдал велик младшему, мне он уже не нужен, купил новый", Level.NONE),
        ("удали пожалуйста нашу переписку", Level.POSSIBLE),
        ("если пропаду, не ищите", Level.POSSIBLE),
        ("я наглоталась таблеток, не знаю сколько", Level.CLEAR),
        ("он ударил маму", Level.CLEAR),
        ("хочу прыгнуть с парашютом летом", Level.NONE),
    ],
)
def test_round_eights_misses_as_classes_and_their_look_alikes(safety: Safety, said: str, level: Level) -> None:
    assert safety.screen.verdict(said).level is level


def test_a_goodbye_for_good_gets_the_question_and_a_teams_does_not_keep_it(safety: Safety) -> None:
    assert not safety.screen.verdict("this is goodbye for good from the night shift team!").kept
    assert safety.screen.verdict("this is goodbye for good.").level is Level.POSSIBLE


@pytest.mark.parametrize(
    ("said", "level"),
    [
        # round 9, read after its held-out figures: easier for them if I were gone (fr, without "ne")
        ("ça serait mieux pour tout le monde si j'étais plus là", Level.POSSIBLE),
        ("si j'étais plus là pour la réunion, ce serait plus simple de décaler", Level.NONE),
        ("perdónenme por lo que voy a hacer", Level.POSSIBLE),
        ("спасибо, что терпели меня все эти годы", Level.POSSIBLE),
        ("minha mãe acha que eu vou viajar. deixa ela achar", Level.POSSIBLE),
        ("mes parents pensent que je pars en vacances", Level.POSSIBLE),
        ("ich will keinem mehr was schuldig sein. jetzt ist alles geregelt", Level.POSSIBLE),
        ("забери мои кроссовки, они теперь твои", Level.POSSIBLE),
        ("checked my life insurance, the two year clause is over now", Level.POSSIBLE),
        ("going to hear her sing one last time. she doesn't know", Level.POSSIBLE),
        ("my nephew gets my bike, my niece gets the guitar", Level.POSSIBLE),
        ("my brother gets my room and my sister gets the bunk bed when we move", Level.NONE),
    ],
)
def test_round_nines_misses_as_classes_and_their_look_alikes(safety: Safety, said: str, level: Level) -> None:
    assert safety.screen.verdict(said).level is level


@pytest.mark.parametrize(
    ("said", "level"),
    [
        # round 10, read after its held-out figures: don't look for me; I will be no more (ru, either alphabet)
        ("не ищите меня. я спокойна", Level.POSSIBLE),
        ("ya vse reshil. ne ishite menya", Level.POSSIBLE),
        ("не ищите меня в офисе, я на больничном", Level.NONE),
        ("не ищите меня до понедельника.", Level.NONE),
        ("когда ты это прочитаешь меня уже не будет", Level.POSSIBLE),
        ("в пятницу меня уже не будет.", Level.NONE),
        ("меня больше не будет в этом чате.", Level.NONE),
        # someone else's words reported: a friend wrote that he is tired of living (ru)
        ("друг написал в чат что устал жить. мы к нему поехали, все ок", Level.NONE),
        ("я устал жить", Level.CLEAR),
    ],
)
def test_round_tens_misses_as_classes_and_their_look_alikes(safety: Safety, said: str, level: Level) -> None:
    assert safety.screen.verdict(said).level is level
