# The course's two commands (see README.md):
#   make course   install, execute every notebook headless in order, regenerate figures/, the course
#                 book and the evaluation report (figures/evaluation_report.md)
#   make test     install, run the unit tests and re-execute the notebooks with nbval
PYTHON ?= python3

.PHONY: install course test bench data lint students

install:
	$(PYTHON) -m pip install -q -r requirements.txt
	$(PYTHON) -m pip install -q --no-deps -e .

course: install
	$(PYTHON) -m encmed_lib.course
	$(PYTHON) -m encmed_lib.evaluation

test: install
	$(PYTHON) -m pytest

bench: install
	$(PYTHON) -m encmed_lib.bench

data:
	$(PYTHON) -m encmed_lib.data.samples

students:
	$(PYTHON) -m encmed_lib.labs students

lint:
	$(PYTHON) -m ruff check encmed_lib tests
