# duplicati.fleet — developer entry points. Run `make help`.
SHELL := /bin/bash

.PHONY: help setup demo test sanity units integration build molecule bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

setup:  ## create .venv with everything the tests and the demo need
	@bash scripts/setup.sh

demo: setup  ## start the emulator and show the collection working against it
	@bash scripts/demo.sh

test:  ## run every test (sanity, units, integration, build, molecule); ends with a summary line
	@bash scripts/test.sh

sanity units integration build molecule:  ## run one stage of `make test`
	@bash scripts/test.sh $@

bench: setup  ## run the benchmarks and print their figures
	@bash scripts/bench.sh

clean:  ## remove the venv and the work folder
	rm -rf .venv .work tests/output
