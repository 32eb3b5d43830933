# The two commands a newcomer needs (see README):
#   make run   - set up, import the sample data and serve it on http://127.0.0.1:8000
#   make test  - set up (incl. the Debian packages the tests drive) and run every test
.PHONY: run test setup bench clean

SAMPLE_STORE ?= var/sample.gpkg

setup:
	@scripts/setup.sh

run: setup
	.venv/bin/stations --store $(SAMPLE_STORE) import data/sample_stations.xlsx --reason "sample data"
	.venv/bin/stations --store $(SAMPLE_STORE) serve

test:
	@scripts/setup.sh --test
	.venv/bin/ruff check stations tests benchmarks scripts
	.venv/bin/python -m pytest -q $(PYTEST_ARGS)

bench:
	@scripts/setup.sh --test
	.venv/bin/python benchmarks/bench_import.py
	.venv/bin/python benchmarks/bench_nearest.py
	.venv/bin/python benchmarks/bench_http.py
	.venv/bin/python benchmarks/bench_map.py
	.venv/bin/python benchmarks/bench_coverage.py
	.venv/bin/python benchmarks/bench_memory.py
	.venv/bin/python benchmarks/bench_refresh.py
	.venv/bin/python benchmarks/bench_writes.py --n 200000
	.venv/bin/python benchmarks/bench_postgis.py

clean:
	rm -rf var/ .pytest_cache .hypothesis
