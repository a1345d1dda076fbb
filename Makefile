# Fileloom: `make run` (everything on embedded defaults) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
NODE_REF := tests/hbs/node
EDITOR := templates_app/editor

.PHONY: run test fuzz bench loadtest lint deps system-deps system-deps-test venv node-deps editor-deps clean

run: system-deps venv editor-deps
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py seed_demo -v0
	$(PY) manage.py serve

# Two test processes (pytest-xdist, a whole file each): each is its own test run with its own var
# directory, worker, database and Redis database number (tests/settings.py). TEST_PROCESSES=0
# runs everything in one process.
TEST_PROCESSES ?= 2
test: system-deps-test venv node-deps
	$(PY) -m pytest -n $(TEST_PROCESSES) --dist loadfile

fuzz: system-deps-test venv
	$(PY) -m pytest -p no:xdist tests/test_fuzz.py tests/test_fuzz_cloudlayer.py

bench: system-deps venv
	$(PY) bench/run.py

# Concurrency 32 for 5 minutes on PostgreSQL + Redis (both on 127.0.0.1), then an audit.
loadtest: system-deps venv
	$(PY) bench/loadtest.py --database postgres://postgres@127.0.0.1:5432/fileloom_load --broker redis://127.0.0.1:6379/8

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy hbs fileloom accounts documents storage_app billing webhooks templates_app rendering cloudlayer

deps: system-deps-test venv node-deps

system-deps:
	@scripts/install-system-deps.sh runtime

system-deps-test:
	@scripts/install-system-deps.sh test

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

node-deps: $(NODE_REF)/node_modules/.installed editor-deps

editor-deps: $(EDITOR)/node_modules/.installed

$(EDITOR)/node_modules/.installed: $(EDITOR)/package-lock.json
	cd $(EDITOR) && npm ci --no-audit --no-fund --silent
	touch $@

$(NODE_REF)/node_modules/.installed: $(NODE_REF)/package-lock.json
	cd $(NODE_REF) && npm ci --no-audit --no-fund --silent
	touch $@

clean:
	rm -rf var/test
