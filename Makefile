# Everything runs inside .venv, created and filled on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: chat run check test lint typecheck standin clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

chat: $(STAMP)  ## talk to the bot in this terminal (no Telegram needed)
	$(BIN)/springboard chat

run: $(STAMP)  ## run the Telegram bot (needs TELEGRAM_BOT_TOKEN in .env)
	$(BIN)/springboard run --or-chat

standin: $(STAMP)  ## a local Telegram Bot API stand-in on 127.0.0.1:8081
	$(BIN)/springboard standin

check: $(STAMP)  ## check every flow in conversations/
	$(BIN)/springboard check conversations/

lint: $(STAMP)
	$(BIN)/ruff check bot tests bench
	$(BIN)/ruff format --check bot tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP)  ## lint, type-check and run every test, offline
	$(BIN)/ruff check bot tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench.step_cost
	$(BIN)/python -m bench.lessons

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
