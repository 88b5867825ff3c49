# Fixtrail: `make run` serves it, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format install browser clean screenshots

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	FIXTRAIL_ENV=$${FIXTRAIL_ENV:-development} $(BIN)/fixtrail run $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT))

# Debian's Chromium for the browser tests; skipped when already there.
browser:
	@command -v chromium >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
		else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; }

test: $(STAMP) browser
	$(BIN)/ruff check fixtrail tests bench
	FIXTRAIL_DATA_DIR=$${FIXTRAIL_DATA_DIR:-$$(mktemp -d)} $(BIN)/pytest $(PYTEST_ARGS)

# Full-page screenshots of every page, empty and filled, at desktop and
# phone widths, for a reviewer to look through.
SCREENSHOTS ?= test-artifacts/pages
screenshots: $(STAMP) browser
	FIXTRAIL_DATA_DIR=$$(mktemp -d) FIXTRAIL_SCREENSHOTS=$(abspath $(SCREENSHOTS)) \
		$(BIN)/pytest tests/browser/test_pages.py -q -p no:cacheprovider
	@echo "Screenshots in $(SCREENSHOTS)/"

lint: $(STAMP)
	$(BIN)/ruff check fixtrail tests bench
	$(BIN)/ruff format --check fixtrail tests bench

format: $(STAMP)
	$(BIN)/ruff format fixtrail tests bench
	$(BIN)/ruff check --fix fixtrail tests bench

clean:
	rm -rf $(VENV) data
