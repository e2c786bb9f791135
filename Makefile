# The two commands that matter on a fresh machine:
#   make report   set up the runtime only, then run the monthly batch on the bundled sample → reports/index.html
#   make test     set up the runtime and the test toolchain (chromium, Java, a CJK font), then run the whole test suite
# Each target installs what its job needs (docs/setup.md): make report never installs Playwright, PySpark or Java.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
# test processes (pytest-xdist); the slow tests run batches with kernels of their own, so 2 fits a 2-core machine
TEST_JOBS ?= 2

.PHONY: setup system report test test-fast lab lint clean

UV := $(VENV)/bin/uv
# uv installs the ~100 dependencies in parallel (a minute or two on a bare machine instead of ~7 with pip);
# copy mode because the uv cache and the venv may be on different file systems.
export UV_LINK_MODE ?= copy

.PHONY: setup-runtime system-runtime docs screenshots

# The runtime: rfmkit and what a batch needs to run (no test tools, no Playwright, PySpark or Java).
$(VENV)/.installed-runtime: pyproject.toml
	@echo "==> [1/3] virtual environment $(VENV)"
	test -x $(PY) || python3 -m venv $(VENV)
	@echo "==> [2/3] installer: uv (into $(VENV), with pip)"
	$(PY) -m pip install --disable-pip-version-check --progress-bar on "uv>=0.4"
	@echo "==> [3/3] rfmkit (uv pip install -e .)"
	$(UV) pip install --python $(PY) -e .
	@touch $@
	@echo "==> runtime set up"

# The test toolchain on top of the runtime: pytest, hypothesis, nbval, Playwright, PySpark, import-linter, MkDocs …
$(VENV)/.installed: $(VENV)/.installed-runtime
	@echo "==> test tools (uv pip install -e .[test])"
	$(UV) pip install --python $(PY) -e ".[test]"
	@touch $@
	@echo "==> setup done"

$(VENV)/.installed-lab: $(VENV)/.installed-runtime
	$(UV) pip install --python $(PY) -e ".[lab]"
	@touch $@

$(VENV)/.installed-docs: $(VENV)/.installed-runtime
	$(UV) pip install --python $(PY) -e ".[docs]"
	@touch $@

setup-runtime: $(VENV)/.installed-runtime

setup: $(VENV)/.installed

# system packages by need (scripts/system-packages.sh): the runtime's CJK font; the tests' chromium and Java on top
system-runtime:
	bash scripts/system-packages.sh runtime

system:
	bash scripts/system-packages.sh test

report: setup-runtime system-runtime
	$(VENV)/bin/rfmkit run params/monthly.yaml

# one BLAS / OpenMP thread in each test process unless the environment says otherwise: the pytest workers already
# fill the cores, and BLAS threads spinning beside them made the CLV fits cost several times their CPU (the batch's
# kernels get the same default: analysis/batch/kernels.py)
ONE_THREAD := OPENBLAS_NUM_THREADS=$${OPENBLAS_NUM_THREADS:-1} MKL_NUM_THREADS=$${MKL_NUM_THREADS:-1} OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1}

test: setup system
	$(ONE_THREAD) $(PY) -m pytest -n $(TEST_JOBS) $(PYTEST_ARGS)

# the edit loop's tier (docs/testing.md): no batches, notebooks, kernels, browser or JVM; 20 examples per property
test-fast: setup
	$(ONE_THREAD) $(PY) -m pytest -n $(TEST_JOBS) -m "not slow and not spark and not notebook" --hypothesis-profile=fast $(PYTEST_ARGS)

# JupyterLab at the repository root (params/ and reports/ in the file browser), opened on notebooks/, for root and
# other users alike; prints the URL to open (scripts/lab.sh: LAB_PORT, LAB_IP, LAB_TOKEN). jupytext (a dependency)
# keeps each notebook's .ipynb and its .py source in sync when either is saved. A notebook run by hand writes to
# reports/_scratch/<period>/<region>/, never over a published batch run.
lab: $(VENV)/.installed-lab system-runtime
	bash scripts/lab.sh $(VENV)

# The documentation site (docs/, mkdocs.yml) → site/; --strict fails on a broken link or a page left out of the nav.
docs: $(VENV)/.installed-docs
	$(VENV)/bin/mkdocs build --strict --site-dir site

# docs/report.png, index.png, closing_the_loop.png and docs/screenshots.json from a fresh run of the make report batch
# in Debian's chromium (tests/test_screenshots.py fails when the report template changed after the capture)
screenshots: setup system
	$(PY) scripts/screenshots.py

# ruff, and the layers contract of [tool.importlinter] in pyproject.toml (import-linter comes with the test tools)
lint: setup
	$(UV) pip install --python $(PY) -q ruff && $(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

clean:
	rm -rf reports/20* reports/_data reports/_scratch reports/index.html reports/rfmkit-owner.json reports/.rfmkit.lock* \
		reports/monthly_zh reports/cdnow reports/online_retail
	rm -rf site
