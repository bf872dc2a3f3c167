# The course's two commands (see README.md):
#   make course   install, execute every notebook headless in order, regenerate figures/, the course
#                 book and the evaluation report (figures/evaluation_report.md)
#   make test     install, run the unit tests and re-execute the notebooks with nbval
#   make fuzz     the fuzz suites with many more examples: wire messages (FUZZ_EXAMPLES per case) and
#                 loaders (2000 per property); a few minutes: see tests/test_fuzz_*.py
PYTHON ?= python3
FUZZ_EXAMPLES ?= 300

.PHONY: install course test bench data lint students fuzz

install:
	$(PYTHON) -m pip install -q -r requirements.txt
	$(PYTHON) -m pip install -q --no-deps -e .

course: install
	$(PYTHON) -m encmed_lib.course
	$(PYTHON) -m encmed_lib.evaluation

test: install
	$(PYTHON) -m pytest

fuzz:
	ENCMED_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PYTHON) -m pytest -p no:cacheprovider -q -s -o addopts="" \
		--hypothesis-show-statistics tests/test_fuzz_messages.py
	HYPOTHESIS_PROFILE=fuzz $(PYTHON) -m pytest -p no:cacheprovider -q -o addopts="" tests/test_fuzz_loaders.py

bench: install
	$(PYTHON) -m encmed_lib.bench

data:
	$(PYTHON) -m encmed_lib.data.samples

students:
	$(PYTHON) -m encmed_lib.labs students

lint:
	$(PYTHON) -m ruff check encmed_lib tests
