# kamcrm: `make run` serves the demo region, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app kamcrm
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: format run test install migrate demo bench migration clean translations system-packages test-packages run-packages

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --upgrade pip
	$(BIN)/python -m pip install -qq -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	$(FLASK) db upgrade

## Debian packages outside Python (installed when run as root; otherwise the command is shown).
system-packages: test-packages
test-packages:
	@deploy/system-packages test
run-packages:
	@deploy/system-packages run

## Create the venv, install, migrate, seed the demo region if the database is empty, serve
## on http://$(HOST):$(PORT) (make run PORT=8000 for another port).
run: run-packages migrate
	$(FLASK) seed demo --if-empty
	$(FLASK) users demo-logins --host $(HOST) --port $(PORT)
	$(FLASK) run --host $(HOST) --port $(PORT)

## Run the whole test suite (SQLite; PostgreSQL too when KAMCRM_TEST_DATABASE_URL is set),
## one worker per CPU (each with its own throwaway database); TESTFLAGS= runs it in one process.
TESTFLAGS ?= -n auto
test: test-packages $(STAMP)
	$(BIN)/ruff format --check --quiet .
	$(BIN)/ruff check --quiet .
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest $(TESTFLAGS)

## Format the tree and apply ruff's safe fixes (make test checks both).
format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Load the demo region into the configured database (refuses a non-empty database).
demo: migrate
	$(FLASK) seed demo

## Benchmarks (not part of the test run); see bench/README.md.
bench: $(STAMP)
	$(BIN)/python -m bench

## Re-extract page strings and update the catalogues (then translate new Thai entries in
## kamcrm/translations/th/LC_MESSAGES/messages.po and run this again to compile; the .mo
## files are committed, so a fresh clone needs no build step).
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k Message --no-location --sort-output --omit-header -o kamcrm/translations/messages.pot .
	$(BIN)/pybabel update -i kamcrm/translations/messages.pot -d kamcrm/translations --no-fuzzy-matching --ignore-obsolete --width 100
	$(BIN)/pybabel compile -d kamcrm/translations --statistics

## Write a new migration from the models (review it before committing).
migration: $(STAMP)
	$(FLASK) db migrate -m "$(MESSAGE)"

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
