# Every target sets itself up: a fresh machine needs only python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test test-newest lint typecheck demo serve bench docs clean clean-newest

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

# The whole suite on the newest Django and Python 3.13 from Debian 13, in a chroot kept in
# .newest/ (see .ci/test-newest; needs root). Not a $(STAMP) target: it has its own venv.
test-newest:
	bash .ci/test-newest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check django_api_orm tests example_project
	$(BIN)/ruff format --check django_api_orm tests example_project

typecheck: $(STAMP)
	$(BIN)/mypy

demo: $(STAMP)
	$(BIN)/python example_project/demo.py

serve: $(STAMP)
	$(BIN)/python example_project/serve.py

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

docs: $(STAMP)
	$(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov

clean-newest:
	rm -rf --one-file-system .newest
