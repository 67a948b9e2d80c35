# One-command entry points. Each creates its virtual environment when missing.
#   make demo        set up, start the local Exotel simulator and run the reminder demo DAG
#   make test        set up and run the whole test suite (also against the oldest supported Airflow)
PYTHON ?= python3
VENV ?= .venv
FLOOR_VENV ?= .venv-floor
AIRFLOW_VERSION ?= 3.3.2
AIRFLOW_FLOOR_VERSION ?= 3.1.8
export AIRFLOW_HOME ?= $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER ?= $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES ?= False
export AIRFLOW__CORE__UNIT_TEST_MODE ?= False

.PHONY: setup setup-floor demo test test-main test-floor test-fast lint bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet "apache-airflow==$(AIRFLOW_VERSION)" -e ".[simulator,test]"
	touch $@

$(FLOOR_VENV)/.installed: pyproject.toml
	test -x $(FLOOR_VENV)/bin/python || $(PYTHON) -m venv $(FLOOR_VENV)
	$(FLOOR_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(FLOOR_VENV)/bin/python -m pip install --quiet "apache-airflow==$(AIRFLOW_FLOOR_VERSION)" -e ".[simulator,test]"
	touch $@

setup: $(VENV)/.installed
setup-floor: $(FLOOR_VENV)/.installed

demo: setup
	$(VENV)/bin/python -m exotel_provider.simulator.run_dag exotel_reminder_demo \
		--script +919876500002=busy --script +919876500003=no-answer

test: test-main test-floor

test-main: setup
	$(VENV)/bin/python -m pytest -q

test-fast: setup
	$(VENV)/bin/python -m pytest -q -m "not e2e"

test-floor: setup-floor
	AIRFLOW_HOME=$(CURDIR)/.airflow-floor $(FLOOR_VENV)/bin/python -m pytest -q -m "not e2e"

lint: setup
	$(VENV)/bin/ruff check exotel_provider dags tests bench
	$(VENV)/bin/mypy

bench: setup
	$(VENV)/bin/python bench/watch_campaign.py

clean:
	rm -rf $(VENV) $(FLOOR_VENV) .airflow .airflow-floor
