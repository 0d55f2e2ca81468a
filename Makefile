# Jejak: two commands on a fresh machine.
#   make run   set up .venv, migrate, seed the demo when empty, serve on http://127.0.0.1:8000 with the
#              job worker beside it (Procfile, run by honcho: one Ctrl-C stops both)
#   make test  set up .venv and run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi
HOST   ?= 127.0.0.1
PORT   ?= 8000
# Labels printed by `make run` point their QR codes at the address it serves (unless one is set).
RUN_BASE_URL = $(or $(PUBLIC_BASE_URL),http://$(HOST):$(PORT))
# gunicorn processes, each with the threads gunicorn.conf.py gives it
WORKERS ?= $(shell nproc 2>/dev/null || echo 2)
# The demo's voting day, unless ELECTION_DAY is set: four days from today, so its milestones are near.
ELECTION_DAY ?= $(shell date -d '+4 days' +%F 2>/dev/null)
STAMP  := $(VENV)/.installed
PO     := $(wildcard webapp/translations/*/LC_MESSAGES/messages.po)
MO     := $(PO:.po=.mo)
# The precompressed copy of static/ (br and gzip beside each file; build output, not in git): see webapp/core/assets.py
STATIC_FILES := $(shell find static -type f)
ASSETS := build/.static-stamp

.PHONY: run test setup assets db lint format i18n-extract i18n-update clean

setup: $(STAMP) $(MO) $(ASSETS)

# GS1 France's epcis2.js at the versions package-lock.json pins, in tools/epcis2js/node_modules (not in git),
# for the test that cross-checks the EPCIS export's eventIDs (tests/monitor/test_epcis2js.py; it skips
# without node). Only where npm is installed.
EPCIS2JS := tools/epcis2js/node_modules/.package-lock.json
ifneq ($(shell command -v npm 2>/dev/null),)
setup: $(EPCIS2JS)
endif

# Without the registry (offline) setup goes on: the test then skips, saying epcis2.js is not installed.
$(EPCIS2JS): tools/epcis2js/package.json tools/epcis2js/package-lock.json
	cd tools/epcis2js && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error \
		&& touch node_modules/.package-lock.json \
		|| echo "epcis2.js not installed (npm ci failed): tests/monitor/test_epcis2js.py will skip"

assets: $(ASSETS)

$(ASSETS): $(STATIC_FILES) $(STAMP)
	$(BIN)/python -m webapp.core.assets
	touch $@

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# Compiled catalogues are build output (not in git), made from the .po sources.
%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@

db: setup
	$(FLASK) db upgrade

# honcho runs the Procfile's web and worker; Ctrl-C (SIGINT to the terminal's process group) stops both, and so
# does a SIGTERM to make, which make passes on to honcho (exec: honcho is make's own child, not a shell's).
run: db
	PUBLIC_BASE_URL=$(RUN_BASE_URL) $(FLASK) seed demo --if-empty
	ELECTION_DAY=$(ELECTION_DAY) $(FLASK) alerts scan
	@echo "Jejak is at http://$(HOST):$(PORT)/  (demo logins above, or: $(FLASK) users list)"
	PUBLIC_BASE_URL=$(RUN_BASE_URL) ELECTION_DAY=$(ELECTION_DAY) HOST=$(HOST) WORKERS=$(WORKERS) exec $(BIN)/honcho start --procfile Procfile --port $(PORT)

# Tests run in parallel, one process per core (pytest-xdist), each on a database of its own.
TEST_WORKERS ?= auto
test: setup
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist load $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

i18n-extract: setup
	$(BIN)/pybabel extract -F babel.cfg -k _l -o webapp/translations/messages.pot --no-location --sort-output --project Jejak .

i18n-update: i18n-extract
	$(BIN)/pybabel update -i webapp/translations/messages.pot -d webapp/translations --no-fuzzy-matching --width 100

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache $(MO) build tools/epcis2js/node_modules
