# Every target sets itself up: a fresh machine needs only python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

SEED_VENV := .venv-seed
SEED_STAMP := $(SEED_VENV)/.installed

.PHONY: install test lint typecheck demo serve bench docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check django_api_orm tests example_project
	$(BIN)/ruff format --check django_api_orm tests example_project
	$(BIN)/mypy
	# coverage run (not pytest-cov): the package's pytest plugin is imported before
	# pytest-cov starts, which would hide every import-time line from the report.
	$(BIN)/coverage run -m pytest $(PYTEST_ARGS)
	$(BIN)/coverage report --fail-under=90
	$(BIN)/python benchmarks/run.py --quick
	$(BIN)/mkdocs build --strict --quiet

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
	rm -rf $(VENV) $(SEED_VENV) .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
