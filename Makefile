# Set-up and everyday commands. `make run` and `make test` install everything they need.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# Where a machine keeps a local CPU torch wheel, use it even if PIP_FIND_LINKS is not set.
TORCH_LINKS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels)
# Models ship inside a PyPI package; nothing may be fetched from a model hub at run time.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install run test lint eval bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# CPU torch first: an unpinned torch would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet $(TORCH_LINKS) torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# The ONNX copy of the packaged model, so questions never wait for torch to import.
	$(BIN)/python -m ingest.onnx_embedding
	touch $@

# Ingests the knowledge base (incremental: a no-op when nothing changed), then runs the
# Slack app when a bot token is configured (environment or .env), the console chat otherwise.
# Questions can be piped into the chat: echo "…" | make run
run: install
	@$(BIN)/coe ingest
	@if [ -n "$$SLACK_BOT_TOKEN" ] || grep -qs '^SLACK_BOT_TOKEN=.' .env; then \
		$(BIN)/coe serve; \
	else \
		$(BIN)/coe chat; \
	fi

test: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

eval: install
	$(BIN)/coe eval

# The llama-index yardstick that bench_ingest measures against; `make test` and `make run`
# do without it. After install, so the CPU torch is already there and is kept.
$(VENV)/.bench-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet $(TORCH_LINKS) -e '.[bench]'
	touch $@

bench: install $(VENV)/.bench-installed
	$(BIN)/python -m benchmarks.run_all

clean:
	rm -rf $(VENV) .coe .pytest_cache
