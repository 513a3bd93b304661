# duplicati.fleet — developer entry points. Run `make help`.
SHELL := /bin/bash

.PHONY: help setup demo test sanity units integration build lint ecosystem molecule docs sanity-matrix bench clean

help:  ## list the targets
	@grep -E '^[a-z][a-z -]*:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

setup:  ## create .venv with everything the tests and the demo need
	@bash scripts/setup.sh

demo: setup  ## start the emulator and show the collection working against it
	@bash scripts/demo.sh

test:  ## run every test (sanity, units, integration, build, lint, ecosystem, molecule); ends with a summary line
	@bash scripts/test.sh

sanity units integration build lint ecosystem molecule:  ## run one stage of `make test`
	@bash scripts/test.sh $@

docs:  ## build the HTML docs site (modules, role, guides) into .work/docs/build/html
	@bash scripts/docs.sh

sanity-matrix:  ## ansible-test sanity on every supported ansible-core (2.18, 2.19)
	@bash scripts/sanity-matrix.sh

bench: setup  ## run the benchmarks and print their figures
	@bash scripts/bench.sh

clean:  ## remove the venv and the work folder
	rm -rf .venv .work tests/output
