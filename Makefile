# The two commands of the README: `make demo` and `make test`. Both set everything up themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Every package `make test` installs is pinned here, so a release of a linter (or a new deprecation
# warning under filterwarnings = error) cannot fail the same commit next month. `make constraints`
# refreshes it on purpose; review its diff like code.
CONSTRAINTS := constraints.txt
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(CONSTRAINTS) | cksum | cut -d' ' -f1)
DEMO_MERCHANT ?= acme

.PHONY: install test lint workflows typecheck unit demo bench schema clean constraints mutation

$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e '.[test]'
	rm -f $(VENV)/.installed-*; touch $@

# The newest versions pyproject.toml allows, resolved in a scratch environment and written down.
constraints:
	rm -rf .venv-constraints
	$(PYTHON) -m venv .venv-constraints
	.venv-constraints/bin/python -m pip install --quiet --upgrade pip
	.venv-constraints/bin/python -m pip install --quiet -e '.[test]'
	.venv-constraints/bin/python -m pip freeze --exclude-editable > $(CONSTRAINTS)
	rm -rf .venv-constraints

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check provisioner tests bench

# The GitHub workflows: shape (the vendored workflow schema) and security (pinning, permissions,
# template injection); both run offline. No zizmor finding above low may stand.
workflows: $(STAMP)
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/zizmor --offline --min-severity medium .github/workflows

typecheck: $(STAMP)
	$(BIN)/mypy provisioner

unit: $(STAMP)
	$(BIN)/pytest

test: lint workflows typecheck unit

schema: $(STAMP)
	$(BIN)/provision schema

demo: $(STAMP)
	@PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh $(DEMO_MERCHANT)

bench: $(STAMP)
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# Mutation score of the modules that guard safety (docs/testing.md); not part of `make test`: minutes a
# module. Options go through MUTATION_ARGS, e.g. make mutation MUTATION_ARGS="--modules escape --max-mutants 40".
mutation: $(STAMP)
	$(BIN)/python -m scripts.mutation $(MUTATION_ARGS)

clean:
	rm -rf $(VENV) .provision out .mypy_cache .ruff_cache .pytest_cache
