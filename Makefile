# Everything runs from a virtual environment that these targets create.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
URL    ?= http://localhost:8000/v1
# pytest-xdist workers: more than cores, since most tests wait on a pty or a server;
# .ci/run lowers it for the other interpreters, which run two at once.
WORKERS ?= 6

# The real-server suite: vLLM's CPU build in its own environment (see tests/vllm/install.sh).
VLLM_VENV ?= .venv-vllm
VLLM_PY   ?=

.PHONY: install test suite soak test-py test-vllm vllm-env lint demo run bench clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check vllm_chat tests bench
	$(BIN)/mypy --cache-dir $(VENV)/.mypy_cache  # one cache per environment: .ci/run lints two at once

# Compiled once, as an installed package is: the suite starts the command hundreds of times,
# and with PYTHONDONTWRITEBYTECODE set each start would compile every module again.
# pytest keeps its assertion-rewritten test modules as bytecode too, but not where
# PYTHONDONTWRITEBYTECODE is set (some machines and CI runners set it): there every xdist
# worker rewrote all the test modules again (5 of the 8 s of CPU a collection costs). One
# collection with bytecode on writes that cache first; the workers read it.
# The lint runs beside the suite (a cold mypy is 6-7 s on one core, while the suite starts).
test: $(STAMP)
	$(MAKE) --no-print-directory -j2 lint suite

suite: $(STAMP)
	$(BIN)/python -m compileall -q vllm_chat
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q --collect-only -p no:xdist >/dev/null || true
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -n $(WORKERS) --dist loadscope

# The soak tests, on their own (tests/conftest.py leaves them out of the suite): 300 turns
# with faults, 2 MB pastes and answers. Three workers: the longest test is half of it.
soak: $(STAMP)
	VLLM_CHAT_SOAK=1 $(BIN)/python -m pytest -q -n 3 tests/test_soak.py

# The suite on another interpreter, in its own environment (VENV defaults to .venv-3.X):
#   make test-py PY=python3.12 [VENV=.venv-3.12]
# Without the lint: ruff and mypy (python_version = 3.10) say the same on every interpreter,
# and a cold mypy costs 7 s of CPU.
PY_VERSION = $(if $(PY),$(shell $(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])'))
test-py:
	@test -n "$(PY)" || { echo "usage: make test-py PY=python3.X [VENV=.venv-3.X]"; exit 2; }
	$(MAKE) --no-print-directory suite PYTHON=$(PY) VENV=$(or $(filter-out .venv,$(VENV)),.venv-$(PY_VERSION))

# Against vLLM itself: starts the tiny model (built into build/ on first use) behind
# vLLM's own server, or uses the running server at VLLM_CHAT_TEST_URL.
test-vllm: $(STAMP) $(if $(VLLM_CHAT_TEST_URL),,$(VLLM_VENV)/.installed)
	VLLM_CHAT_REAL_SERVER=1 VLLM_CHAT_VLLM_PYTHON=$(VLLM_VENV)/bin/python \
		$(BIN)/python -m pytest -q -p no:xdist tests/vllm $(PYTEST_ARGS)

# vLLM's environment alone (.ci/run makes it while the project's environments install).
vllm-env: $(VLLM_VENV)/.installed

$(VLLM_VENV)/.installed: tests/vllm/install.sh
	tests/vllm/install.sh $(VLLM_VENV) $(VLLM_PY)

demo: $(STAMP)
	$(BIN)/python -m tests.standin --run $(BIN)/vllm-chat

run: $(STAMP)
	$(BIN)/vllm-chat --url $(URL)

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .venv-3.* *.egg-info .pytest_cache .ruff_cache .hypothesis build
