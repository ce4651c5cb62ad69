# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# The IMAP mail tests start their own Dovecot (Debian's dovecot-imapd), installed when missing.
DOVECOT := /usr/sbin/dovecot
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT     := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get

.PHONY: demo test lint bench fuzz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test,google,outlook,caldav]'
	rm -f $(VENV)/.installed-*
	touch $@

$(DOVECOT):
	@echo "== installing dovecot-imapd: the IMAP server the mail tests run (not started as a service)"
	$(APT) install -y -q dovecot-imapd || { $(APT) update -q && $(APT) install -y -q dovecot-imapd; }

demo: $(STAMP)
	@echo "== cadence check: validating cadence.toml, policies/ and the customer file"
	$(BIN)/cadence check --config cadence.toml
	@echo "== cadence import-contacts: three years of contact history with the example customers"
	$(BIN)/cadence import-contacts examples/contact-history.csv --config cadence.toml
	@echo "== cadence run --once: import, plan and book into calendars/<salesperson>.ics"
	$(BIN)/cadence run --once --config cadence.toml

test: $(STAMP) $(DOVECOT)
	$(BIN)/ruff check cadence connectors tests bench examples
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 -q

# The fuzz harness with the long profile: many more random inputs per parser than `make test`
# runs (tests/fuzz/conftest.py). Prints per target how many inputs were tried.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest tests/fuzz -n 2 -q --hypothesis-show-statistics

lint: $(STAMP)
	$(BIN)/ruff format cadence connectors tests bench examples
	$(BIN)/ruff check --fix cadence connectors tests bench examples

bench: $(STAMP)
	$(BIN)/python bench/bench_plan.py --customers 10000 --salespeople 500
	$(BIN)/python bench/bench_plan.py --customers 100000 --salespeople 500
	$(BIN)/python bench/bench_requests.py
	$(BIN)/python bench/bench_cli.py --customers 10000 --salespeople 500

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
