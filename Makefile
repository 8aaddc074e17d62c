.PHONY: demo test bench
demo:   ## run the end-to-end demo on local defaults
	scripts/demo.sh
test:   ## lint, type-check, layering check and the test suite
	scripts/test.sh
bench:  ## run the benchmarks and print their figures
	scripts/bootstrap.sh && for b in bench/*.py; do .venv/bin/python $$b; done
