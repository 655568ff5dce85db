# CivicGrid: `make run` serves the platform, `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: install run test demo bench clean provision-department

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

run: install
	$(PY) -m civicgrid.launcher

test: install
	$(PY) -m pytest

demo: install
	$(PY) scripts/demo.py

# make provision-department DISTRICT=hb DEPARTMENT=chengjian  (password: $$CIVICGRID_DEPARTMENT_PASSWORD,
# else an existing user keeps theirs, or one is generated and printed once)
provision-department: install
	@test -n "$(DISTRICT)" -a -n "$(DEPARTMENT)" || { echo "usage: make provision-department DISTRICT=hb DEPARTMENT=chengjian"; exit 2; }
	$(PY) -m civicgrid.provision department --district $(DISTRICT) --department $(DEPARTMENT)

bench: install
	$(PY) bench/loop.py

clean:
	rm -rf $(VENV) .pytest_cache
