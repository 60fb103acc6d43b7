"""Loading the screen and the helplines from ``conversations/safety/``, with ``file:line`` errors."""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path as FsPath

from pydantic import ValidationError

from bot.flows.errors import FlowError, FlowLoadError
from bot.flows.loader import display_path, from_pydantic
from bot.flows.model import _Strict
from bot.flows.yaml_source import YamlDocument, YamlSyntaxError, load_yaml
from bot.safety.assessment import Assessment, Level
from bot.safety.book import Helpline, HelplineBook
from bot.safety.detector import MODEL_DIR, Detector, load_detector
from bot.safety.encoder import Encoder, load_encoder
from bot.safety.normal import normalise
from bot.safety.screen import CompiledRules, CrisisScreen, ScreenRules

logger = logging.getLogger(__name__)
SCREEN_FILE = FsPath("safety") / "screen.yaml"
# Shorter replies ("yes", "idk", "7", a button's label) carry too little for the learned readers to judge;
# the patterns alone screen them (they catch the short risk statements: "kms", "i want to die").
ENCODER_MIN_WORDS = 4
# The n-gram detector needs more: on four or five words ("I did not finish") its few n-grams mislead it.
NGRAM_MIN_WORDS = 6
HELPLINES_FILE = FsPath("safety") / "helplines.yaml"


@dataclass
class Safety:
    """The crisis screen (patterns and a learned reader) and the helplines.

    Two learned readers can raise a message to the question tier: the fine-tuned encoder
    (:mod:`bot.safety.encoder`), loaded in the background by :meth:`warm_up`, and until it is ready the small
    n-gram detector (:mod:`bot.safety.detector`), read on first use. Screening never waits for the encoder.
    """

    screen: CrisisScreen
    helplines: HelplineBook
    model_folder: FsPath | None = None
    _detector: Detector | None = field(default=None, repr=False)
    _loaded: bool = field(default=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _encoder: Encoder | None = field(default=None, repr=False)
    _encoder_started: bool = field(default=False, repr=False)
    _encoder_done: threading.Event = field(default_factory=threading.Event, repr=False)

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
        return self._encoder

    def warm_up(self) -> None:
        """Start loading the encoder in a background thread (once); until it is ready the detector reads."""
        with self._lock:
            if self._encoder_started:
                return
            self._encoder_started = True
        threading.Thread(target=self._load_encoder, name="screen-encoder", daemon=True).start()

    def wait_ready(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for :meth:`warm_up` to finish; True when the encoder is in use."""
        self.warm_up()
        self._encoder_done.wait(timeout)
        return self._encoder is not None

    def _load_encoder(self) -> None:
        started = time.monotonic()
        try:
            self._encoder = load_encoder(self.model_folder or MODEL_DIR)
        finally:
            self._encoder_done.set()
        if self._encoder is None:
            logger.warning("crisis screen: its encoder could not be loaded; the patterns and the detector screen alone")
        else:
            logger.info("crisis screen: the encoder is ready (loaded in %.1f s)", time.monotonic() - started)

    def assess(self, text: str) -> Assessment:
        """The screen's decision on one message: patterns first, then a learned reader can raise it to the question.

        A learned reader alone never sends the full crisis reply: its score is a guess about phrasing no one
        wrote a pattern for, and a gentle question costs the person one tap where a wrong crisis reply costs
        trust. For the same reason the encoder may turn an English pattern's full reply into the question when
        it reads the message as plainly harmless; it never lowers anything below the question.
        """
        normal = self.screen.normal(text)
        words = word_count(normal)
        judged = words >= ENCODER_MIN_WORDS
        verdict = self.screen.verdict(text)
        level = verdict.level
        score = None
        encoder = self._encoder
        # The learned readers only matter where they can change the outcome: raising a message the patterns
        # leave alone, or turning an English pattern's full reply into the question.
        if judged and (level is Level.NONE or (level is Level.CLEAR and verdict.language is None and encoder)):
            score, raised = self.learned_score(normal, words)
            if raised:
                level = max(level, Level.POSSIBLE)
            if (
                level is Level.CLEAR
                and verdict.language is None
                and encoder is not None
                and score is not None
                and score < encoder.demote_below
            ):
                # An English pattern fired, but the encoder reads the whole message as plainly harmless (a
                # story, a study, a friend's crisis, the past): ask the gentle question instead of the full
                # reply. Never lower than the question: the message still reaches a person's choice.
                level = Level.POSSIBLE
        return Assessment(level, verdict.topics, verdict.language, score)

    def learned_score(self, normal: str, words: int) -> tuple[float | None, bool]:
        """The learned readers' score for ``normal`` text, and whether they raise it to the question.

        With the encoder loaded, either reader can raise a message, each at its own threshold chosen on dev
        (the encoder reads meaning in English; the n-gram detector's character n-grams also carry the other
        languages); the score is the encoder's. Before it is loaded, the detector alone decides. The detector
        reads only messages of :data:`NGRAM_MIN_WORDS` ``words`` or more.
        """
        encoder = self._encoder
        detector = self.detector if words >= NGRAM_MIN_WORDS else None
        if encoder is not None:
            score = encoder.probability(normal)
            raised = score >= encoder.possible or (
                detector is not None and detector.probability(normal) >= encoder.detector_possible
            )
            return score, raised
        if detector is not None:
            score = detector.probability(normal)
            return score, score >= detector.possible
        return None, False

    def lines_for(self, country: str | None, topics: frozenset[str] = frozenset()) -> list[Helpline]:
        """The helplines to show: the country's own first, then topic lines, then those for everywhere."""
        return self.helplines.lines_for(country, topics)

    def emergency_number(self, country: str | None) -> str | None:
        """The country's emergency number, if known."""
        return self.helplines.emergency_number(country)


def word_count(normal: str) -> int:
    """The words of normalised text, as the learned readers' minimum counts them (punctuation is no word)."""
    return sum(1 for token in normal.split() if any(ch.isalnum() for ch in token))


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

        def compile_all(sources: list[str], *path: str | int) -> tuple[re.Pattern[str], ...]:
            compiled = []
            for index, source in enumerate(sources):
                try:
                    compiled.append(re.compile(source))
                except re.error as problem:
                    line = document.line_of((*path, index))
                    where = ".".join(str(part) for part in path)
                    errors.append(FlowError(shown, line, "screen", where, f"not a valid pattern: {problem.msg}"))
            return tuple(compiled)

        english = CompiledRules(
            compile_all(model.benign, "benign"),
            compile_all(model.risk, "risk"),
            compile_all(model.possible, "possible"),
        )
        topics = {name: compile_all(sources, "topics", name) for name, sources in model.topics.items()}
        languages = {
            code: CompiledRules(
                compile_all(rules_.benign, "languages", code, "benign"),
                compile_all(rules_.risk, "languages", code, "risk"),
                compile_all(rules_.possible, "languages", code, "possible"),
            )
            for code, rules_ in model.languages.items()
        }
        spellings = {normalise(k, {}): normalise(v, {}) for k, v in model.spellings.items()}
        screen = CrisisScreen(spellings, english, topics, languages)
    if errors or screen is None or book is None:
        raise FlowLoadError(errors)
    assert isinstance(book[0], HelplineBook)
    return Safety(screen, book[0], model_folder)


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
