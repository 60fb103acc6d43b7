"""The coaching of /reframe through the real ``springboard run`` process and the Bot API stand-in: a person
who is stuck is helped once and then taken at their word; a person angry at someone else is asked what was
in their own hands, never pushed into blaming themselves."""

from __future__ import annotations

import json

from standin.server import StandIn
from tests.e2e.harness import BotProcess, Chat


async def test_a_stuck_person_and_an_angry_one_each_get_what_fits(standin: StandIn, bot_process: BotProcess) -> None:
    await bot_process.start()

    stuck = Chat(standin, 701)
    await stuck.begin("/quick", expect="what happened?")
    await stuck.say("I forgot my mum's birthday", expect="What did it teach you?")
    offer = await stuck.say("idk", expect="A few ways in")
    assert "“I forgot my mum's birthday”" in offer.shown_text
    await stuck.say("idk", expect="next step")
    await stuck.say("nothing", expect="it can be tiny")
    card = await stuck.say("nothing", expect="Saved.")
    assert "Not clear yet, and that's okay" in card.shown_text
    assert "No next step for now" in card.shown_text

    angry = Chat(standin, 702)
    await angry.begin("/reframe", expect="What happened?")
    await angry.say("My teammate blamed me for his missed deadline in front of the client", expect="What are you")
    await angry.tap("😠 Angry", expect="How strong")
    critic = await angry.tap("6", expect="someone else had a big hand")
    assert "harshest" not in critic.shown_text
    own = await angry.tap("Skip", expect="This isn't about taking the blame")
    assert "in your own hands" in own.shown_text
    await angry.say("I could have flagged the risk earlier", expect="protect next time")
    await angry.say("My reputation with the client", expect="What has this taught you?")
    await angry.say("Put risks in writing early", expect="next step")
    await angry.say("Email the client a status note on Friday", expect="how strong is it now")
    card = await angry.tap("3", expect="Your springboard")
    assert "That's a real shift." in card.shown_text and "courage" not in card.shown_text  # 6 → 3

    runs = dict(bot_process.rows("SELECT flow_id, id FROM runs"))
    kept = dict(bot_process.rows("SELECT step_id, value FROM run_answers WHERE run_id = ?", runs["quick"]))
    assert json.loads(kept["lesson"]) == "idk", "their answer, as they gave it"
    anger = dict(bot_process.rows("SELECT step_id, value FROM run_answers WHERE run_id = ?", runs["setback"]))
    assert json.loads(anger["harsh_voice"]) is None and "friend_voice" not in anger
    assert standin.spec_problems == []
    assert await bot_process.stop() == 0
