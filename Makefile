# Everything runs from a virtual environment that these targets create.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
URL    ?= http://localhost:8000/v1

.PHONY: install test lint demo run bench clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check vllm_chat tests bench

test: lint
	$(BIN)/python -m pytest -q -n 4 --dist loadscope

demo: $(STAMP)
	$(BIN)/python -m tests.standin --run $(BIN)/vllm-chat

run: $(STAMP)
	$(BIN)/vllm-chat --url $(URL)

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache .hypothesis
