# One-command entry points. Each creates its virtual environment when missing.
#   make demo        set up, start the local Exotel simulator and run the reminder demo DAG
#   make test        set up and run lint and the test suite (also against the oldest supported Airflow)
#   make test-fast   the quick layers while coding; make test-e2e: a real Airflow, Celery, the package
#   make docs        build the documentation site (docs/, mkdocs.yml) in strict mode into site/; make docs-serve previews it
#   make airflow     start the simulator and a full local Airflow with the example DAGs (Ctrl-C stops);
#                    DB=postgres for a local PostgreSQL metadata DB, CELERY_WORKERS=2 for the CeleryExecutor
PYTHON ?= python3
VENV ?= .venv
FLOOR_VENV ?= .venv-floor
AIRFLOW_VERSION ?= 3.3.2
AIRFLOW_FLOOR_VERSION ?= 3.1.8
export AIRFLOW_HOME ?= $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER ?= $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES ?= False
export AIRFLOW__CORE__UNIT_TEST_MODE ?= False

.PHONY: setup setup-floor setup-e2e setup-debian demo airflow test test-main test-floor test-fast test-e2e coverage lint package-check bench bench-campaign docs docs-serve clean

PIP_QUIET = --quiet --quiet --disable-pip-version-check --no-input

$(VENV)/.installed: pyproject.toml
	@echo "Installing Airflow $(AIRFLOW_VERSION) and the provider into $(VENV) (a minute or two)"
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/python -m pip install $(PIP_QUIET) --upgrade pip
	@$(VENV)/bin/python -m pip install $(PIP_QUIET) "apache-airflow==$(AIRFLOW_VERSION)" -e ".[simulator,test,examples]"
	@touch $@

$(FLOOR_VENV)/.installed: pyproject.toml
	test -x $(FLOOR_VENV)/bin/python || $(PYTHON) -m venv $(FLOOR_VENV)
	$(FLOOR_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(FLOOR_VENV)/bin/python -m pip install --quiet "apache-airflow==$(AIRFLOW_FLOOR_VERSION)" -e ".[simulator,test,examples]"
	touch $@

setup: $(VENV)/.installed
setup-floor: $(FLOOR_VENV)/.installed

# The end-to-end layer drives Debian's Chromium with Playwright (never a downloaded browser) and
# starts a Celery deployment on Debian's PostgreSQL and Redis.
CHROMIUM ?= /usr/bin/chromium
E2E_DEBIAN_PACKAGES = chromium postgresql redis-server
$(VENV)/.e2e-installed: $(VENV)/.installed pyproject.toml
	$(VENV)/bin/python -m pip install --quiet "apache-airflow==$(AIRFLOW_VERSION)" -e ".[simulator,test,examples,e2e,docs]"
	touch $@

setup-e2e: $(VENV)/.e2e-installed setup-debian

# Debian packages the end-to-end layer and `make airflow DB=postgres` need (installing needs root).
setup-debian:
	@test -x $(CHROMIUM) && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v redis-server >/dev/null || { \
		echo "Installing $(E2E_DEBIAN_PACKAGES) from Debian packages (needs root)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(E2E_DEBIAN_PACKAGES); }

# Quiet: one line per call as it progresses, the final table; Airflow's logs go to a file it names.
demo: setup
	@$(VENV)/bin/python -m exotel_provider.simulator.run_dag exotel_reminder_demo \
		--script +919876500002=busy --script +919876500003=no-answer

DB ?= sqlite
CELERY_WORKERS ?= 0
airflow: $(if $(and $(filter sqlite,$(DB)),$(filter 0,$(CELERY_WORKERS))),setup,setup-e2e)
	$(VENV)/bin/python -m tools.local_airflow --home $(CURDIR)/.airflow-local --dags-folder $(CURDIR)/dags \
		--db $(DB) --celery-workers $(CELERY_WORKERS)

# make test: lint, then everything but the end-to-end layer on Airflow $(AIRFLOW_VERSION) and, on the
# oldest supported Airflow, the tests that run Airflow code (marker `airflow`, set from each test's
# imports by tests/support/suite_rules.py). Tests run on pytest-xdist workers (one AIRFLOW_HOME
# each), with a time limit per test; every layer runs even if one fails; the end shows the 15
# slowest tests and each layer's wall time (tools/test_layers.py).
WORKERS ?= 6
RESULTS ?= $(CURDIR)/artifacts/test-results
E2E_RESULTS ?= $(CURDIR)/artifacts/test-results-e2e
XDIST = -n $(WORKERS) --dist worksteal
LAYER = $(PYTHON) -m tools.test_layers run
test: setup setup-floor
	@rm -rf $(RESULTS)
	@$(LAYER) $(RESULTS) lint $(MAKE) --no-print-directory lint; \
	$(LAYER) $(RESULTS) "tests, Airflow $(AIRFLOW_VERSION)" $(MAKE) --no-print-directory test-main; \
	$(LAYER) $(RESULTS) "tests, Airflow $(AIRFLOW_FLOOR_VERSION)" $(MAKE) --no-print-directory test-floor; \
	$(PYTHON) -m tools.test_layers report $(RESULTS)

test-main: setup
	$(VENV)/bin/python -m pytest -q $(XDIST) -m "not e2e" --junitxml=$(RESULTS)/main.xml

test-floor: setup-floor
	AIRFLOW_HOME=$(CURDIR)/.airflow-floor $(FLOOR_VENV)/bin/python -m pytest -q $(XDIST) -m "airflow and not e2e" \
		--junitxml=$(RESULTS)/floor.xml

# While coding: the unit and integration layers on Airflow $(AIRFLOW_VERSION) without whole DAG runs
# and the README's commands (marker `slow`, tests/support/suite_rules.py); under 3 minutes.
test-fast: setup
	$(VENV)/bin/python -m pytest -q $(XDIST) -m "not e2e and not slow" --durations=10

# The end-to-end layer (marker `e2e`: tests/e2e, each module starting its deployment once for its
# scenarios, and the volume runs), then the package check; one test at a time (they load both cores).
test-e2e: setup-e2e
	@rm -rf $(E2E_RESULTS)
	@$(LAYER) $(E2E_RESULTS) "e2e, Airflow $(AIRFLOW_VERSION)" $(VENV)/bin/python -m pytest -q -p no:xdist -m e2e \
		--junitxml=$(E2E_RESULTS)/e2e.xml; \
	$(LAYER) $(E2E_RESULTS) package-check $(MAKE) --no-print-directory package-check; \
	$(PYTHON) -m tools.test_layers report $(E2E_RESULTS)

# Line and branch coverage of exotel_provider/ by every test outside tests/e2e, in one process
# (what DAG runs and README commands execute in subprocesses is not counted).
coverage: setup
	rm -f .coverage
	$(VENV)/bin/python -m coverage run --branch --source=exotel_provider -m pytest -q -p no:xdist -p no:cacheprovider \
		tests --ignore=tests/e2e
	$(VENV)/bin/python -m coverage report --skip-empty

lint: setup
	$(VENV)/bin/ruff check exotel_provider dags tests bench tools
	$(VENV)/bin/mypy

# Build the sdist and wheel, check them, install the wheel into a fresh virtual environment (Airflow
# from PyPI) and ask that Airflow whether it sees the provider.
PACKAGE_DIR ?= $(CURDIR)/artifacts/package
package-check: setup
	rm -rf $(PACKAGE_DIR) && mkdir -p $(PACKAGE_DIR)
	$(VENV)/bin/python -m build --outdir $(PACKAGE_DIR)/dist .
	$(VENV)/bin/twine check --strict $(PACKAGE_DIR)/dist/*
	$(VENV)/bin/python -m tools.check_package $(PACKAGE_DIR)/dist
	$(PYTHON) -m venv $(PACKAGE_DIR)/venv
	$(PACKAGE_DIR)/venv/bin/python -m pip install --quiet "apache-airflow==$(AIRFLOW_VERSION)" $(PACKAGE_DIR)/dist/*.whl
	cd $(PACKAGE_DIR) && AIRFLOW_HOME=$(PACKAGE_DIR)/airflow-home venv/bin/airflow providers list \
		| tee providers.txt | grep "^airflow-provider-exotel "
	cd $(PACKAGE_DIR) && venv/bin/python -c "import exotel_provider, pathlib; \
		p = pathlib.Path(exotel_provider.__file__).parent; assert (p / 'py.typed').is_file(); print(p)"

# The documentation site: MkDocs with Material and mkdocstrings (the `docs` extra). Strict: a warning,
# a broken link or anchor, a page missing from the nav or an unresolvable API reference fails the build.
SITE_DIR ?= $(CURDIR)/site
DOCS_ADDR ?= 127.0.0.1:8000
$(VENV)/.docs-installed: $(VENV)/.installed pyproject.toml
	@$(VENV)/bin/python -m pip install $(PIP_QUIET) "apache-airflow==$(AIRFLOW_VERSION)" -e ".[simulator,test,examples,docs]"
	@touch $@

docs: $(VENV)/.docs-installed
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/python -m mkdocs build --strict --site-dir $(SITE_DIR)

docs-serve: $(VENV)/.docs-installed
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/python -m mkdocs serve --strict --dev-addr $(DOCS_ADDR)

bench: setup
	$(VENV)/bin/python bench/watch_campaign.py

# The reminders DAG (one campaign task) against per-call mapped tasks, in a real local Airflow.
bench-campaign: setup
	PYTHONPATH=$(CURDIR) $(VENV)/bin/python bench/reminder_campaign.py

clean:
	rm -rf $(VENV) $(FLOOR_VENV) .airflow .airflow-* artifacts .coverage site
