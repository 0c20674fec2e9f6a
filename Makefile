# Every target sets itself up: a fresh machine needs only python3 (and node 20+ with npm for
# `make test`, which installs the node servers of tests/realservers).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Third-party node servers for tests/realservers (json-server, Feathers): node 20+ and npm.
NODE_SERVERS := tests/node_servers
NODE_STAMP := $(NODE_SERVERS)/node_modules/.installed

SEED_VENV := .venv-seed
SEED_STAMP := $(SEED_VENV)/.installed

.PHONY: install node-servers test test-newest test-browser lint typecheck demo serve bench docs clean clean-newest

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

$(NODE_STAMP): $(NODE_SERVERS)/package.json $(NODE_SERVERS)/package-lock.json
	cd $(NODE_SERVERS) && npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

node-servers: $(NODE_STAMP)

test: $(STAMP) $(NODE_STAMP)
	$(BIN)/ruff check django_api_orm tests example_project
	$(BIN)/ruff format --check django_api_orm tests example_project
	$(BIN)/mypy
	# coverage run (not pytest-cov): the package's pytest plugin is imported before
	# pytest-cov starts, which would hide every import-time line from the report.
	$(BIN)/coverage run -m pytest $(PYTEST_ARGS)
	$(BIN)/coverage report --fail-under=90
	$(BIN)/python benchmarks/run.py --quick
	$(BIN)/mkdocs build --strict --quiet

# The whole suite on the newest Django and Python 3.13 from Debian 13, in a chroot kept in
# .newest/ (see .ci/test-newest; needs root). Not a $(STAMP) target: it has its own venv.
test-newest:
	bash .ci/test-newest $(PYTEST_ARGS)

# The admin in headless Chromium (Debian's chromium, installed with apt when missing and
# root), driven by Playwright: tests/test_admin_browser.py.
test-browser: $(STAMP)
	command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	$(BIN)/python -m pip install --quiet -e ".[browser]"
	$(BIN)/python -m pytest -p no:cacheprovider -q tests/test_admin_browser.py

lint: $(STAMP)
	$(BIN)/ruff check django_api_orm tests example_project
	$(BIN)/ruff format --check django_api_orm tests example_project

typecheck: $(STAMP)
	$(BIN)/mypy

demo: $(STAMP)
	$(BIN)/python example_project/demo.py

serve: $(STAMP)
	$(BIN)/python example_project/serve.py

# The seed's PyPI package, for the benchmarks' side-by-side lines: its own venv, since it
# shares the import name django_api_orm.
$(SEED_STAMP):
	$(PYTHON) -m venv $(SEED_VENV)
	$(SEED_VENV)/bin/python -m pip install --quiet "django-api-orm==0.1.0"
	touch $(SEED_STAMP)

bench: $(STAMP) $(SEED_STAMP)
	$(BIN)/python benchmarks/run.py

docs: $(STAMP)
	$(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) $(SEED_VENV) .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov $(NODE_SERVERS)/node_modules

clean-newest:
	rm -rf --one-file-system .newest
