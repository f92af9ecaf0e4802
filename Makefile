# kamcrm: `make run` serves the demo region, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app kamcrm
STAMP := $(VENV)/.installed

.PHONY: run test install migrate demo bench migration clean translations

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	$(FLASK) db upgrade

## Create the venv, install, migrate, seed the demo region if the database is empty, serve.
run: migrate
	$(FLASK) seed demo --if-empty
	$(FLASK) users demo-logins
	$(FLASK) run --host 127.0.0.1 --port 5000

## Run the whole test suite (SQLite; PostgreSQL too when KAMCRM_TEST_DATABASE_URL is set).
test: $(STAMP)
	$(BIN)/python -m pytest

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
