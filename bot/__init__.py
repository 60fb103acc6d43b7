"""Springboard: a warm bot that walks a person from a setback to one lesson and one next step."""

__version__ = "0.1.0"
