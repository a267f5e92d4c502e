# The two commands of the README:
#   make bench   set up everything on a fresh Debian machine and run the offline benchmark,
#                with the HTTP API up on 127.0.0.1:18080
#   make test    set up everything and run the whole test suite (what CI runs)

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
BENCH  ?= 10K

.PHONY: setup bench test lint clean

$(BIN)/xminer: pyproject.toml tools/install-deps.sh
	tools/install-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[opencl,test]'
	touch $@

setup: $(BIN)/xminer

bench: setup
	$(BIN)/xminer --bench=$(BENCH) --http-port=18080

test: setup
	$(BIN)/ruff check xminer tests tools
	$(BIN)/vulture
	$(BIN)/python -m pytest -p no:cacheprovider

lint: setup
	$(BIN)/ruff check xminer tests tools
	$(BIN)/vulture
	$(BIN)/ruff format --check xminer tests tools

clean:
	rm -rf $(VENV) build *.egg-info
