"""Tests of the local Telegram Bot API stand-in (standin)."""
