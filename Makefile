# The README's commands. Each one sets up .venv first (only what changed since last time).
#   make lab        set up, then open the workbook in JupyterLab
#   make lab-zh     the same, on the Chinese edition (notebooks/zh/)
#   make test       set up, then ruff + pytest tests/ + nbval over every notebook (what CI runs)
#   make test-full  the same, with every seed of every learning test
#   make browser    only the browser tests (tests/browser/: JupyterLab in headless Chromium; part of make test)
# Variables: PYTHON (the interpreter that makes the venv), VENV (its folder),
#   TORCH_INDEX_URL (a PyTorch wheel index, e.g. its CPU-only one; see README).

PYTHON ?= python3
VENV ?= .venv
TORCH_INDEX_URL ?=
BIN := $(VENV)/bin
STAMP := $(VENV)/.rlteach-installed
PYTEST := $(BIN)/python -m pytest
NBVAL_FLAGS := --nbval --nbval-current-env --nbval-cell-timeout=600 \
	--nbval-sanitize-with notebooks/nbval_sanitize.cfg -p no:cacheprovider

.PHONY: setup lab lab-zh test test-full lint unit browser notebooks zh messages bench bench-parts faults claims times clean

setup: $(STAMP)

# Re-runs only when pyproject.toml or constraints.txt change: an existing .venv costs seconds.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# PyTorch first: the CPU build where it is at hand (or from TORCH_INDEX_URL), else the default wheel.
	@if $(BIN)/python -c "import torch" 2>/dev/null; then \
		echo "torch already installed"; \
	elif [ -n "$(TORCH_INDEX_URL)" ]; then \
		$(BIN)/python -m pip install "torch>=2.2" --index-url "$(TORCH_INDEX_URL)"; \
	else \
		$(BIN)/python -m pip install torch==2.13.0 || $(BIN)/python -m pip install "torch>=2.2"; \
	fi
	$(BIN)/python -m pip install -c constraints.txt -e ".[dev,ray,zh]"
	@touch $(STAMP)

# Localhost only, token kept. Jupyter refuses to run as root unless told; containers often are root.
LAB_ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: setup
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 $(LAB_ROOT_FLAG) notebooks/00_start_here.ipynb

# 中文版: the same, opening the Chinese edition (notebooks/zh/, built by `make zh`; see README.zh.md).
lab-zh: setup
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 $(LAB_ROOT_FLAG) notebooks/zh/00_start_here.ipynb

lint: setup
	$(BIN)/ruff check .

unit: setup
	$(PYTEST) tests/ $(PYTEST_ARGS)

# Needs a Chromium on the PATH (Debian: apt-get install chromium) or RLTEACH_CHROMIUM=/path; skips without one.
browser: setup
	$(PYTEST) tests/browser/ $(PYTEST_ARGS)

# The Chinese edition: notebooks/zh/NN_*.ipynb from each English notebook and notebooks/zh/translations/NN_*.md
# (markdown translated, then run in Chinese where its outputs are stale) and README.zh.md. FORCE=1 also rebuilds a
# notebook a reader has run (kept in notebooks/zh/yours/). NB="03_a3c 05_impala" builds only those.
zh: setup
	$(BIN)/python notebooks/zh/build.py $(NB) $(if $(FORCE),--force,)

# The message catalogs (rlteach/messages.py): extract every tr("..."), tr_in("context", "...") and N_("...") of the package and the notebooks,
# merge new messages into the Chinese .po (translate the empty ones there), compile the .mo that rlteach reads.
LOCALE := rlteach/locale
messages: setup
	$(BIN)/pybabel extract -F babel.cfg --no-default-keywords -k tr -k N_ -k tr_in:1c,2 --add-location=file --sort-by-file \
		--no-wrap --project=rlteach --version=0.1.0 -o $(LOCALE)/rlteach.pot .
	$(BIN)/pybabel update -i $(LOCALE)/rlteach.pot -d $(LOCALE) -D rlteach -l zh --no-wrap --no-fuzzy-matching
	$(BIN)/pybabel compile -d $(LOCALE) -D rlteach --statistics

notebooks: setup
	$(PYTEST) $(NBVAL_FLAGS) notebooks/

test: lint
	$(PYTEST) tests/ $(PYTEST_ARGS)
	$(PYTEST) $(NBVAL_FLAGS) notebooks/

test-full: lint
	$(PYTEST) tests/ --full $(PYTEST_ARGS)
	$(PYTEST) $(NBVAL_FLAGS) notebooks/

# Timing goals live here, not in tests: SB3 is installed for the benchmark only. side_by_side.py writes
# benchmarks/results/ (the full table: side_by_side.md) and a summary in README.md.
bench: setup
	$(BIN)/python -m pip install -c constraints.txt -r benchmarks/requirements.txt
	$(BIN)/python benchmarks/side_by_side.py
	$(BIN)/python notebooks/zh/build.py --readme

# The fault matrix (rlteach.faults): every algorithm on every backend under three faults; the table in
# benchmarks/results/faults.md, a summary in README.md.
faults: setup
	$(BIN)/python benchmarks/faults.py
	$(BIN)/python notebooks/zh/build.py --readme

# The other benchmark scripts: A3C's speed by backend, the replay, IMPALA's throughput, the communication lab.
bench-parts: setup
	$(BIN)/python -m pip install -c constraints.txt -r benchmarks/requirements.txt
	$(BIN)/python benchmarks/a3c_speed.py --workers 1 2 4
	$(BIN)/python benchmarks/replay_speed.py
	$(BIN)/python benchmarks/impala_speed.py
	$(BIN)/python benchmarks/comm_lab.py

# The papers' own experiments at laptop scale (at most 30 minutes on 2 cores): benchmarks/results/claims.*
# and a summary in README.md; notebooks 03, 04 and 05 read claims.json.
claims: setup
	$(BIN)/python benchmarks/claims.py
	$(BIN)/python notebooks/zh/build.py --readme

# Re-executes every notebook in place, one at a time (on a quiet machine), and writes the README's table of
# reading and run times.
times: setup
	$(BIN)/python benchmarks/workbook_times.py --inplace
	$(BIN)/python notebooks/zh/build.py --readme

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis *.egg-info
