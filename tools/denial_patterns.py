"""Writes the crisis screen's denial patterns into ``conversations/safety/screen.yaml``, one per language.

A message that is *only* a denial followed by a plain feeling ("im not suicidal just tired lol", "no tengo
pensamientos de hacerme daño, solo estoy frustrado") is blanked by a ``benign`` pattern, so it does not get
the full crisis reply. The six patterns share one shape, built here from each language's words; anything else
in the message (a plan, "tonight anyway", "tired of everything", a pills emoji) and the pattern does not match.
Run from the repository root after changing a word list, then run the screen's tests:

    python -m tools.denial_patterns

``tests/safety/test_crisis_screen.py`` checks that the file holds exactly what this builds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SCREEN = Path("conversations/safety/screen.yaml")
# The comment that opens each pattern in screen.yaml; the pattern is the next list item.
MARKER = "# A message that is only a denial"
SAD_FACES = "😞😔😢😭🙁☹😩😫😕🥲😒😤🙃🫠😪😓🤍❤💔🫶"


@dataclass(frozen=True)
class DenialWords:
    """One language's words, each a regex alternation, as the patterns read text (lowercase, no accents)."""

    lead: str  # one word that may open the message ("honestly", "no")
    denial: str  # the denial itself ("i'm not suicidal")
    between: str  # fillers after it ("lol", "i promise")
    glue: str  # optional words before "just" ("but i'm"), a regex of optional groups
    just: str
    adverbs: str  # before a feeling, each ending in a space ("really ", "so ")
    feelings: str  # plain feelings only: nothing that could be a wish, a plan or a means
    joins: str  # between two feelings ("and")
    tail: str  # what may close the message ("tbh", "about work")


def pattern(words: DenialWords) -> str:
    """The regex for ``words``: the whole message, from its first character to its last."""
    feeling = f"({words.adverbs})*({words.feelings})"
    return (
        f"^(({words.lead}) (, )?)?({words.denial})"
        f"((( ({words.between}))|( [,.;!]))*{words.glue} )({words.just}) {feeling}"
        f"( ({words.joins}|,))* ?({feeling})?"
        f"(( ({words.tail}))|( [.,!?…:;()]+)|( [{SAD_FACES}]+))*$"
    )


WORDS = {
    "en": DenialWords(
        lead=r"honestly|tbh|btw|ok|okay|no|nah|look|and|but|so|also|like",
        denial=(
            r"(i'm|i am) not (going to |gonna )?(suicidal|(hurt|harm|kill) my ?self|thinking (of|about) (hurting|"
            r"harming|killing|ending) (my ?self|it|it all|my life)|planning (to|on) (hurt|harm|kill|hurting|"
            r"harming|killing) my ?self)|not (thinking|planning) (of|about|on|to) (hurting|harming|killing|"
            r"ending) (my ?self|it|it all|my life)|(i'd|i'll|(i )?(would|will)) never (hurt|harm|kill) my ?self|"
            r"i (wouldn't|won't|would not|will not) (hurt|harm|kill) my ?self|no (thoughts|plans|intention|"
            r"intentions|urges?) (of|to|about) (self ?-? ?harm\w*|(hurting|harming|killing|hurt|harm|"
            r"kill) my ?self|suicide|ending it)|i (don't|do not) want to (hurt|harm|kill) my ?self|(not|"
            r"never) (feeling |actually |really )?suicidal"
        ),
        between=r"or anything|or whatever|lol|lmao|haha|btw|don't worry|i promise|promise|i swear|swear",
        glue=r"( (but|and))?( (i'm|i am|it's|its|i))?",
        just=r"just|only|simply",
        adverbs=(
            r"really |so |very |a bit |a little |kinda |kind of |pretty |super |extremely |feeling |feel |been |"
            r"having |need to |needed to |want to |wanted to "
        ),
        feelings=(
            r"sad|tired|exhausted|stressed|anxious|overwhelmed|lonely|burnt out|burned out|vent|venting|upset|"
            r"frustrated|angry|mad|down|low|bored|sick|ill|grieving|annoyed|worried|scared|nervous|sleepy|stupid|"
            r"crap|rubbish|hormonal|gutted|embarrassed|ashamed|disappointed|heartbroken|broke|in a mood|"
            r"a rough (week|day)|a bad day|talk|rant|sorry for my ?self"
        ),
        joins=r"and|or|&",
        tail=(
            r"lol|lmao|haha\w*|tbh|rn|honestly|i guess|atm|today|lately|right now|that's all|is all|x+|(about|"
            r"from|with|at|because of|over) (work|school|uni|college|the exam|exams|my exams?|the job|my job|"
            r"my boss)"
        ),
    ),
    "de": DenialWords(
        lead=r"ehrlich|keine sorge|also|nein|aber|und|ok",
        denial=(
            r"ich bin (nicht|gar nicht|echt nicht) (suizidal|selbstmordgefahrdet)|ich (will|werde) mich (nicht|"
            r"niemals|nie) (umbringen|verletzen|ritzen|toten)|(ich hab|hab|ich habe|habe) keine (suizidgedanken|"
            r"selbstmordgedanken|gedanken an (suizid|selbstmord))|ich (will|werde) mir nichts antun|"
            r"ich tu mir nichts an"
        ),
        between=r"oder so|lol|haha|keine sorge|versprochen",
        glue=r"( (aber|und))?( (ich bin|bin|ich))?",
        just=r"nur|bloss|einfach nur|halt nur|einfach",
        adverbs=r"bin |ich bin |echt |total |voll |gerade |grad |etwas |ein bisschen |so |mega ",
        feelings=(
            r"mude|gestresst|traurig|erschopft|frustriert|wutend|sauer|genervt|uberfordert|down|niedergeschlagen|"
            r"enttauscht|einsam|krank|nervos|angstlich|schlecht drauf|mies drauf"
        ),
        joins=r"und|oder",
        tail=r"lol|haha|heute|gerade|grad|wegen der arbeit|wegen der prufung|wegen der schule",
    ),
    "es": DenialWords(
        lead=r"no|bueno|tranqui|tranquila|tranquilo|pero|y|ojo|la verdad",
        denial=(
            r"no (tengo|he tenido) (ningun |ninguna )?(pensamientos?|ideas?|ganas) de (hacerme dano|lastimarme|"
            r"matarme|suicidarme|quitarme la vida)|no (voy a|pienso|quiero) (hacerme dano|lastimarme|matarme|"
            r"suicidarme|quitarme la vida)|no (soy|estoy) suicida|no me (voy a|quiero) (matar|suicidar|hacer dano)"
        ),
        between=r"ni nada|ni nada de eso|jaja\w*|lol|xd|tranqui|no te preocupes|te lo prometo|lo prometo",
        glue=r"( (pero|y))?( (estoy|es))?",
        just=r"solo|solamente|nada mas|simplemente",
        adverbs=r"estoy |me siento |un poco |muy |bastante |re |super |medio ",
        feelings=(
            r"cansad[oa]|estresad[oa]|triste|agotad[oa]|frustrad[oa]|enojad[oa]|enfadad[oa]|bajonead[oa]|"
            r"desanimad[oa]|preocupad[oa]|nervios[oa]|agobiad[oa]|quemad[oa]|aburrid[oa]|decepcionad[oa]|"
            r"desahogarme|de mal humor|un mal dia|una mala semana"
        ),
        joins=r"y|o",
        tail=r"jaja\w*|xd|lol|hoy|la verdad|nada mas|con el trabajo|por el trabajo|por la facu|por los examenes",
    ),
    "fr": DenialWords(
        lead=r"non|franchement|honnetement|t'inquiete|mais|et|bon",
        denial=(
            r"je (ne )?(suis|me sens) pas suicidaire|je (ne )?vais pas (me tuer|me suicider|me faire du mal|"
            r"me blesser|me foutre en l'air)|je (ne )?veux pas (me tuer|me suicider|me faire du mal)|(je n'ai|"
            r"j'ai) (pas|aucune) (d'idees|de pensees|idee|pensee) (suicidaires?|noires?|de suicide)"
        ),
        between=r"ou quoi|mdr|lol|ptdr|t'inquiete|promis",
        glue=r"( (mais|et))?( (je suis|suis|c'est|je))?",
        just=r"juste|seulement|simplement",
        adverbs=r"je suis |suis |un peu |tres |trop |grave |vraiment |completement ",
        feelings=(
            r"fatiguee?|crevee?|epuisee?|stressee?|triste|degoutee?|saoulee?|enervee?|fachee?|decue?|malade|"
            r"angoissee?|vener|deg|en colere|de mauvaise humeur|une mauvaise journee|une sale semaine"
        ),
        joins=r"et|ou",
        tail=r"mdr|lol|ptdr|aujourd'hui|en ce moment|a cause du (boulot|taf|travail)|avec le (boulot|taf|travail)",
    ),
    "pt": DenialWords(
        lead=r"nao|relaxa|calma|mas|e|olha|sinceramente",
        denial=(
            r"nao (sou|to|estou) suicida|nao (vou|penso em|quero) (me matar|me machucar|me ferir|tirar minha vida|"
            r"me cortar)|nao tenho (pensamentos|ideias|vontade) de (me matar|me machucar|suicidio)"
        ),
        between=r"nem nada|kk\w*|rs\w*|haha\w*|relaxa|prometo",
        glue=r"( (mas|e))?( (to|estou|e|eu))?",
        just=r"so|apenas|somente|simplesmente",
        adverbs=r"to |estou |muito |meio |bem |mega |super |tipo ",
        feelings=(
            r"cansad[oa]|estressad[oa]|triste|esgotad[oa]|frustrad[oa]|chatead[oa]|irritad[oa]|brav[oa]|"
            r"desanimad[oa]|preocupad[oa]|nervos[oa]|ansios[oa]|decepcionad[oa]|doente|desabafando|"
            r"precisando desabafar|de saco cheio|num dia ruim"
        ),
        joins=r"e|ou",
        tail=r"kk\w*|rs\w*|haha\w*|hoje|com o trabalho|com a faculdade|com as provas",
    ),
    "ru": DenialWords(
        lead=r"нет|честно|не волнуися|но|и|слушаи",
        denial=(
            r"я не (собираюсь|хочу|буду) (себя убивать|убивать себя|убить себя|кончать с собои|покончить с собои|"
            r"причинять себе вред|резать себя|себя резать)|я не (суицидник|суицидница|суицидальн\w*)|"
            r"у меня нет (суицидальных мыслеи|мыслеи о (суициде|самоубиистве))"
        ),
        between=r"или типа того|лол|хаха|не волнуися|обещаю",
        glue=r"( (но|а|и))?( я)?",
        just=r"просто|только",
        adverbs=r"очень |немного |так |сильно |я |мне ",
        feelings=(
            r"устал|устала|устали|грустно|грущу|злюсь|зол|зла|раздражен|раздражена|расстроен|расстроена|в стрессе|"
            r"вымотан|вымотана|обидно|одиноко|болею|переживаю|нервничаю|хочу выговориться|выговориться|"
            r"плохои день|плохая неделя"
        ),
        joins=r"и|или",
        tail=r"лол|хаха|сегодня|из-за работы|из-за учебы|из-за экзаменов",
    ),
}


def _yaml_item(indent: str, regex: str) -> str:
    """A single-quoted YAML list item holding ``regex``."""
    return indent + "- '" + regex.replace("'", "''") + "'"


def write(screen: Path = SCREEN) -> int:
    """Replace each language's denial pattern in ``screen``; returns how many were written."""
    lines = screen.read_text(encoding="utf-8").split("\n")
    code, written = "en", 0
    for index, line in enumerate(lines):
        language = re.fullmatch(r"  ([a-z]{2}):", line)
        if language:
            code = language.group(1)
        if line.lstrip().startswith(MARKER):
            item = next(at for at in range(index + 1, len(lines)) if lines[at].lstrip().startswith("- "))
            indent = line[: len(line) - len(line.lstrip())]
            lines[item] = _yaml_item(indent, pattern(WORDS[code]))
            written += 1
    screen.write_text("\n".join(lines), encoding="utf-8")
    return written


if __name__ == "__main__":
    print(f"{write()} denial patterns written to {SCREEN}")
