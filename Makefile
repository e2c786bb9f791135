# The two commands that matter on a fresh machine:
#   make report   set up, then run the monthly batch on the bundled sample → reports/index.html
#   make test     set up (with test tools, chromium and a CJK font), then run the whole test suite
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
# test processes (pytest-xdist); the slow tests run batches with kernels of their own, so 2 fits a 2-core machine
TEST_JOBS ?= 2

.PHONY: setup system report test lab lint clean

UV := $(VENV)/bin/uv
# uv installs the ~100 dependencies in parallel (a minute or two on a bare machine instead of ~7 with pip);
# copy mode because the uv cache and the venv may be on different file systems.
export UV_LINK_MODE ?= copy

$(VENV)/.installed: pyproject.toml
	@echo "==> [1/3] virtual environment $(VENV)"
	test -x $(PY) || python3 -m venv $(VENV)
	@echo "==> [2/3] installer: uv (into $(VENV), with pip)"
	$(PY) -m pip install --disable-pip-version-check --progress-bar on "uv>=0.4"
	@echo "==> [3/3] rfmkit and its test tools (uv pip install -e .[test])"
	$(UV) pip install --python $(PY) -e ".[test]"
	@touch $@
	@echo "==> setup done"

setup: $(VENV)/.installed

system:
	bash scripts/system-packages.sh

report: setup system
	$(VENV)/bin/rfmkit run params/monthly.yaml

test: setup system
	$(PY) -m pytest -n $(TEST_JOBS) $(PYTEST_ARGS)

# JupyterLab at the repository root (params/ and reports/ in the file browser), opened on notebooks/. jupytext (a
# dependency) keeps each notebook's .ipynb and its .py source in sync when either is saved. A notebook run by hand
# writes to reports/_scratch/<period>/<region>/, never over a published batch run.
lab: setup system
	$(UV) pip install --python $(PY) -e ".[lab]"
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/notebooks

lint: setup
	$(UV) pip install --python $(PY) -q ruff && $(VENV)/bin/ruff check .

clean:
	rm -rf reports/20* reports/_data reports/_scratch reports/index.html reports/rfmkit-owner.json reports/.rfmkit.lock* \
		reports/monthly_zh reports/cdnow reports/online_retail
