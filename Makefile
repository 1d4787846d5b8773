# Berth: every target sets itself up, so a fresh clone needs only `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench package clean browser

$(STAMP): pyproject.toml requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## demo: set up, then run the whole pipeline on the embedded AWS stand-in (moto on 127.0.0.1)
demo: $(STAMP)
	$(BIN)/berth sandbox demo

## test: set up, then lint, type-check and run every test level
test: $(STAMP) browser lint typecheck
	$(BIN)/python -m pytest

# The HTML report's test renders the page in Debian's chromium: installed here when missing and
# root (a fresh machine or CI); otherwise the test skips, saying how to install it.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the HTML report's browser test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "chromium missing (as root: apt-get install -y chromium): the browser test will skip"; \
	  fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/hadolint docker/*/Dockerfile
	$(BIN)/shellcheck docker/*/*.sh
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy app.py chalicelib berth docker/build.py

## package: one CloudFormation (SAM) template of Berth for STAGE, in out/package
STAGE ?= dev
# The merge template is infra/resources.yaml plus the stage's precise EventBridge patterns (its
# spec bucket, image repositories and BERTH_CLUSTERS from .chalice/config.json) and function
# names: berth/package.py writes it. berth/chalice_package.py runs chalice package for the
# runtime config.json names (chalice alone would take .venv's python3.11), then slims the zip to
# what the Lambdas reach and strips its shared objects (needs binutils' strip).
package: $(STAMP)
	rm -rf out/package out/merge-$(STAGE).yaml
	$(BIN)/python -m berth.package $(STAGE) infra/resources.yaml .chalice/config.json \
	  out/merge-$(STAGE).yaml
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(BIN)/python -m berth.chalice_package \
	  --stage $(STAGE) --merge-template out/merge-$(STAGE).yaml out/package
	$(BIN)/cfn-lint --include-checks I -- out/package/sam.yaml

## bench: every figure into bench/results.md; `make bench PART=idle` measures one part alone
bench: $(STAMP)
	@$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench $(PART)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache out
