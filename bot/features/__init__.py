"""The bot's features: safety, onboarding, flows, history (/lessons, /export, /forget, /done, /edit), check-ins,
and the bot's own menus read from typed text.

Each feature module owns its commands, button values and stages and describes them in one ``FEATURE``
(``bot.features.base.Feature``); ``bot.conversation`` composes them into a ``Registry`` and walks
``PRECEDENCE``, the order in which the stages answer. A feature never edits another's file to be added.
"""
