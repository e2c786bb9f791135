# The two commands that matter on a fresh machine:
#   make report   set up, then run the monthly batch on the bundled sample → reports/index.html
#   make test     set up (with test tools, chromium and a CJK font), then run the whole test suite
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup system report test lab lint clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	touch $@

setup: $(VENV)/.installed

system:
	bash scripts/system-packages.sh

report: setup system
	$(VENV)/bin/rfmkit run params/monthly.yaml

test: setup system
	$(PY) -m pytest $(PYTEST_ARGS)

lab: setup system
	$(PY) -m pip install -q -e ".[lab]"
	$(VENV)/bin/jupyter lab notebooks/

lint: setup
	$(PY) -m pip install -q ruff && $(VENV)/bin/ruff check .

clean:
	rm -rf reports/20* reports/_data reports/index.html
