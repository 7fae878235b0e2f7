# Two commands on a fresh machine: `make train` and `make test`. Each bootstraps .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev
COMMA  := ,
CONFIG ?= churn.toml
DATA   ?=
ASOF   ?=
DATA_ARG := $(if $(DATA),--data $(DATA),)
ASOF_ARG := $(if $(ASOF),--as-of $(ASOF),)
# Synthetic sets generated elsewhere (read only), e.g. BENCH_DATA=../main/bench/data
BENCH_DATA ?=
BENCH_DATA_ARG := $(if $(BENCH_DATA),--data-root $(BENCH_DATA),)

export MLFLOW_DISABLE_TELEMETRY := true
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export OMP_WAIT_POLICY := PASSIVE

.PHONY: train test test-quick loop lint sample score report ui bench bench-spark clean venv

venv: $(STAMP)

# `make train` installs what training, scoring and the report need; `make test` (and lint,
# bench-spark) adds the test tools and the Spark extra (pyspark, about 470 MB), so the Spark
# parity tests run. The installer is uv, fetched into the venv from the package index (about
# 20 s for everything here), with plain pip as the fallback when uv cannot be had (2.5-4 min);
# its summary lines are shown, the full output goes to $(VENV)/install.log. Each stamp is
# rebuilt when missing or older than pyproject.toml.
define install
	@start=$$(date +%s); \
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || exit 1; \
	echo "venv: installing $(2) into $(VENV) (log: $(VENV)/install.log)"; \
	if $(BIN)/python -m pip install -q uv >> $(VENV)/install.log 2>&1 \
		&& $(BIN)/python -m uv pip install --python $(BIN)/python -e '$(1)' >> $(VENV)/install.log 2>&1; then \
		grep -E '^(Resolved|Prepared|Installed|Uninstalled|Audited) ' $(VENV)/install.log | tail -n 4 | sed 's/^/venv: /'; \
	else \
		echo "venv: uv unavailable, installing with pip (slower)"; \
		$(BIN)/python -m pip install -e '$(1)' >> $(VENV)/install.log 2>&1 \
			|| { tail -n 25 $(VENV)/install.log; echo "venv: install failed, see $(VENV)/install.log"; exit 1; }; \
	fi; \
	echo "venv: $(2) ready in $$(( $$(date +%s) - start )) s"
endef

$(STAMP): pyproject.toml
	$(call install,.,the project)
	@touch $(STAMP)

$(DEVSTAMP): $(STAMP) pyproject.toml
	$(call install,.[dev$(COMMA)spark],the test tools and the Spark extra)
	@touch $(DEVSTAMP)

train: $(STAMP)
	@echo "train: features, LightGBM, evaluation and MLflow tracking on $(or $(DATA),the configured data) ($(CONFIG))"
	@$(BIN)/churn train --config $(CONFIG) $(DATA_ARG) $(ASOF_ARG)
	@$(BIN)/python -m bench.reason_quality --config $(CONFIG) $(DATA_ARG)

# On every core the machine has (pytest-xdist), a test file to a worker (some files share a
# module-scoped project their tests build on in order); each worker has its own folders and
# stores. Files sharing the Spark session or the reported project go to one worker together,
# and the slowest go first (tests/scheduling.py); measured 5 min 46 s on this 2-core machine.
# `make test-quick` leaves out the tests marked heavy (a Spark session, the team-server test,
# the browser test) while working; `make test` runs everything.
test: $(DEVSTAMP)
	@echo "test: running the suite on every core"
	@$(BIN)/python -m pytest -n auto --dist loadfile

test-quick: $(DEVSTAMP)
	@echo "test-quick: the suite without Spark, server and browser tests (make test runs them)"
	@$(BIN)/python -m pytest -n auto --dist loadfile -m "not heavy"

lint: $(DEVSTAMP)
	@echo "lint: ruff"
	@$(BIN)/ruff check .

# data/sample is the fixed reference the quality and reason figures are measured on; the same
# world with a retention team calling from its twelfth month (its contact log and the truth of
# each call) goes beside it in data/sample-team (docs/contacts.md).
sample: $(STAMP)
	@echo "sample: simulating data/sample and data/sample-team (seeded)"
	@$(BIN)/churn simulate --out data/sample
	@$(BIN)/churn simulate --out data/sample-team --team-from 12

score: $(STAMP)
	@echo "score: ranked at-risk list from the champion model"
	@$(BIN)/churn score --config $(CONFIG) $(DATA_ARG) $(ASOF_ARG)

report: $(STAMP)
	@echo "report: the retention report (one HTML file) from the exports and the lists so far"
	@$(BIN)/churn report --config $(CONFIG) $(DATA_ARG) $(ASOF_ARG)

ui: $(STAMP)
	@$(BIN)/churn ui --config $(CONFIG)

bench: $(STAMP)
	@echo "bench: feature, scoring, report and subsampled-training benchmarks (results in bench/results/)"
	@$(BIN)/python -m bench.features_bench $(BENCH_DATA_ARG)
	@$(BIN)/python -m bench.score_bench $(BENCH_DATA_ARG)
	@$(BIN)/python -m bench.report_bench
	@$(BIN)/python -m bench.subsample_bench

# The contact loop on the sample's world: a simulated team calls from each month's list (with
# its control group), and `churn report` says what the calls bought, beside the simulator's
# truth (about 3 minutes; bench/results/contact_loop.json, the report under bench/work/loop).
loop: $(STAMP)
	@echo "loop: lists, calls and the saves they bought, on the sample's world (bench/results/contact_loop.json)"
	@$(BIN)/python -m bench.contact_loop

# Features and the nightly list on Spark local[1] and local[2] beside DuckDB, on the 1M set
# `make bench` generates (the list's champion learns the 100k set).
SPARK_BENCH_DATA ?= bench/data/1000000
bench-spark: $(DEVSTAMP)
	@echo "bench-spark: features and the nightly list on DuckDB and Spark, $(SPARK_BENCH_DATA) (results in bench/results/spark.json)"
	@$(BIN)/python -m bench.spark_bench --data $(SPARK_BENCH_DATA)

# Leaves mlruns/ (experiments, registry) and outputs/ (at-risk lists) alone.
clean:
	@echo "clean: removing $(VENV), .churn/ caches and Python caches"
	@rm -rf $(VENV) .churn .pytest_cache .ruff_cache .hypothesis
	@find . -name __pycache__ -type d -prune -exec rm -rf {} +
