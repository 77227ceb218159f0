# KAM's two commands are `make demo` and `make test`; the work is done by the
# scripts in scripts/, which say what each step does.
.DEFAULT_GOAL := help
HOST ?= 127.0.0.1
PORT ?= 8000
OPPORTUNITIES ?= 1000000

.PHONY: help demo test setup serve lint clean constraints messages bench

help:
	@echo "make demo    set up, load the demo data into ./data, serve on http://$(HOST):$(PORT)/"
	@echo "make test    set up (with test tools and Debian packages), ruff, all tests"
	@echo "make setup   only the set-up: .venv, npm packages, static files, translations"
	@echo "make serve   set up and serve ./data as it is (no demo data)"
	@echo "make lint    ruff check"
	@echo "make bench   generate $(OPPORTUNITIES) opportunities, run the benchmarks on SQLite and"
	@echo "             PostgreSQL, print the ratios (quick: make bench OPPORTUNITIES=20000)"
	@echo "make clean   remove .venv, node_modules, built files and artifacts (keeps ./data)"
	@echo "make messages      update kam/locale/*/django.po from the code, then compile them"
	@echo "make constraints   re-pin constraints.txt after changing requirements*.txt"

demo:
	@bash scripts/demo.sh --host $(HOST) --port $(PORT)

test:
	@bash scripts/test.sh

setup:
	@bash scripts/setup.sh --dev

serve:
	@bash scripts/demo.sh --no-demo --host $(HOST) --port $(PORT)

lint:
	@bash scripts/test.sh --lint-only

bench:
	@OPPORTUNITIES=$(OPPORTUNITIES) bash scripts/bench.sh

clean:
	rm -rf .venv node_modules kam/web/static/vendor artifacts .setup-stamps .pytest_cache .ruff_cache .hypothesis kam.egg-info
	find kam -name '*.mo' -path '*/LC_MESSAGES/*' -delete
	find . -name __pycache__ -type d -not -path './node_modules/*' -prune -exec rm -rf {} +

constraints:
	@bash scripts/freeze-constraints.sh

messages:
	@bash scripts/messages.sh
