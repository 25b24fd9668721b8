# The two set-up commands of the README:
#   make demo   set everything up, then build the offline demo dataset (recipes/demo.yaml)
#   make test   set everything up, then run the test suite (what .ci/run runs)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup sysdeps sysdeps-test demo test bench clean

setup: sysdeps $(STAMP)

# apt packages (Mesa EGL for shaders; chromium for the tests), skipped when already present
sysdeps:
	sh scripts/system-deps.sh

sysdeps-test:
	sh scripts/system-deps.sh --test

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, alone: the pinned CPU wheel (2.13.0), never a CUDA build pulled in by a range
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

demo: setup
	$(BIN)/toolkit make recipes/demo.yaml

test: setup sysdeps-test
	$(BIN)/ruff check toolkit tests scripts benchmarks examples
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) outputs
