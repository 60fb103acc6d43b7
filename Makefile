# Everything runs inside .venv, created and filled on first use.
# `make chat` and `make run` install only what the bot needs; `make test` adds the developer tools.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.installed-runtime
DEV := $(VENV)/.installed-dev
PIP := $(BIN)/pip install --disable-pip-version-check --progress-bar on
# Two workers: the slow process tests run side by side with everything else (see tests/README.md).
PYTEST_WORKERS ?= 2

.PHONY: chat run check test test-fast lint typecheck standin clean bench

$(RUNTIME): pyproject.toml
	@echo "Setting up $(VENV) with what the bot needs (first run only; about a minute)…"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(PIP) --quiet --upgrade pip
	@$(PIP) -e .
	@touch $(RUNTIME)
	@echo "Ready."

$(DEV): $(RUNTIME)
	@echo "Adding the developer tools (pytest, mypy, ruff, hypothesis)…"
	@$(PIP) -e '.[dev]'
	@touch $(DEV)

chat: $(RUNTIME)  ## talk to the bot in this terminal (no Telegram needed)
	$(BIN)/springboard chat

run: $(RUNTIME)  ## run the Telegram bot (needs TELEGRAM_BOT_TOKEN in .env)
	$(BIN)/springboard run --or-chat

standin: $(RUNTIME)  ## a local Telegram Bot API stand-in on 127.0.0.1:8081
	$(BIN)/springboard standin

check: $(RUNTIME)  ## check every flow in conversations/
	$(BIN)/springboard check conversations/

lint: $(DEV)
	$(BIN)/ruff check bot tests bench tools standin
	$(BIN)/ruff format --check bot tests bench tools standin

typecheck: $(DEV)
	$(BIN)/mypy

test: $(DEV)  ## lint, type-check and run every test, offline (what CI runs)
	$(BIN)/ruff check bot tests bench tools standin
	$(BIN)/mypy
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadgroup

test-fast: $(DEV)  ## the inner loop: every test except those that start the bot process
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) -m "not process"

bench: $(DEV)
	$(BIN)/python -m bench.startup
	$(BIN)/python -m bench.screen
	$(BIN)/python -m bench.step_cost
	$(BIN)/python -m bench.lessons
	$(BIN)/python -m bench.heavy
	$(BIN)/python -m bench.load
	$(BIN)/python -m bench.replicas

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
