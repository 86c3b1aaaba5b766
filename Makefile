# `make run` and `make test` work on a fresh machine with only python3: each creates .venv
# when missing and installs the package into it before running.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
OUT ?= results

.PHONY: run test lint chromium docs bench clean mutation

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Stamps re-install only when the build changes: pyproject.toml, or setup.py and the search
# kernel's modules it compiles (installing builds the extensions in place, beside them).
KERNEL := $(addprefix src/scratchlearn/_search/,_order.py _order.pxd _topk.py _exact.py)
BUILD := pyproject.toml setup.py $(KERNEL)
$(VENV)/.installed: $(BUILD) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-dev: $(BUILD) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/scratchlearn run --out $(OUT)

# ruff, and import-linter's layers contract (pyproject.toml, [tool.importlinter]).
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

# The report's browser test drives Debian's Chromium; install it when missing (CI runs as
# root; elsewhere sudo is used if there is one).
SUDO := $(shell [ "$$(id -u)" = 0 ] || command -v sudo)
chromium:
	@command -v chromium >/dev/null 2>&1 || ( $(SUDO) apt-get update \
		&& DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y chromium )

# The docs are built before the tests: tests/test_docs.py checks the built site (and fails,
# rather than skips, when it is missing). The suite runs on every core (pytest-xdist; the
# groups in tests/conftest.py keep the tests that share an experiment or a cluster together).
test: lint chromium docs
	$(BIN)/python -m pytest -n auto

$(VENV)/.installed-docs: $(BUILD) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[docs]'
	touch $@ $(VENV)/.installed

# The documentation site: Sphinx, warnings as errors, the gallery's examples executed;
# open docs/_build/html/index.html. It needs no network: where the system allows it (as
# root, as in CI), it is built in a network namespace of its own with only the loopback
# interface up (the gallery's Dask example talks to its workers over 127.0.0.1), so any
# download fails the build.
SPHINX_BUILD = $(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html
docs: $(VENV)/.installed-docs
	@if unshare -n true 2>/dev/null && command -v ip >/dev/null; then \
		echo "make docs: building without network (unshare -n)"; \
		unshare -n sh -c 'ip link set lo up && exec $(SPHINX_BUILD)'; \
	else \
		$(SPHINX_BUILD); \
	fi

$(VENV)/.installed-bench: $(BUILD) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[bench]'
	touch $@ $(VENV)/.installed

# Side-by-side timings against scikit-learn, FAISS and SciPy; reports ratios, asserts nothing.
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset for the benchmark process only: on the
# development machines they force an older, slower BLAS kernel (tests and CI keep them).
bench: $(VENV)/.installed-bench
	cd benchmarks && env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ../$(BIN)/python bench_knn.py
	cd benchmarks && env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ../$(BIN)/python bench_dask.py

$(VENV)/.installed-mutation: $(BUILD) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,mutation]'
	touch $@ $(VENV)/.installed $(VENV)/.installed-dev

# Mutation testing (mutmut) of the whole package, a seeded sample of each module's mutants
# (the compiled kernel as plain Python): prints each file's score and every survivor, and
# fails when the overall score is under 90% (see mutation/report.py). Not part of `make
# test`; about 23 minutes with SAMPLE=2 (SAMPLE=6: 61). PATHS="src/scratchlearn/optim ..."
# limits it to some files or folders; SAMPLE=N draws N mutants per file, SEED=S another
# sample; JOBS mutants at once.
JOBS ?= 2
SAMPLE ?= 2
SEED ?= 0
mutation: $(VENV)/.installed-mutation
	$(BIN)/python mutation/report.py --jobs $(JOBS) --sample $(SAMPLE) --seed $(SEED) $(PATHS)

clean:
	rm -rf $(VENV) $(OUT) build src/*.egg-info src/scratchlearn/_search/*.so docs/_build \
		docs/generated docs/auto_examples docs/gen_modules docs/sg_execution_times.rst
