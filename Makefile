# CivicGrid: `make run` serves the platform, `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements*.txt | cksum | cut -d' ' -f1)

CHROMIUM ?= /usr/bin/chromium
# Playwright (requirements-browser.txt) drives Debian's Chromium and never downloads a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: install browser run test demo bench clean provision-department analytics-rebuild bench-analytics

install: $(STAMP)

$(STAMP): $(wildcard requirements*.txt)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

run: install
	$(PY) -m civicgrid.launcher

test: install browser
	$(PY) -m pytest

# The console's browser tests (tests/browser) need Chromium and a Chinese font: Debian's packages, installed
# once, only when missing (we run as root; sudo otherwise).
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

browser: $(CHROMIUM) $(CJK_FONT)

$(CHROMIUM) $(CJK_FONT) &:
	@echo "make: $@ is missing; installing Debian's chromium and fonts-wqy-microhei for the browser tests"
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-wqy-microhei
	@test -x $(CHROMIUM) || { echo "make: no Chromium at $(CHROMIUM) after apt-get install chromium"; exit 1; }

demo: install
	$(PY) scripts/demo.py

# make provision-department DISTRICT=hb DEPARTMENT=chengjian  (password: $$CIVICGRID_DEPARTMENT_PASSWORD,
# else an existing user keeps theirs, or one is generated and printed once)
provision-department: install
	@test -n "$(DISTRICT)" -a -n "$(DEPARTMENT)" || { echo "usage: make provision-department DISTRICT=hb DEPARTMENT=chengjian"; exit 2; }
	$(PY) -m civicgrid.provision department --district $(DISTRICT) --department $(DEPARTMENT)

# The suite: bare stack and ours back to back, medians and ratios (BENCHMARKS.md). wrk, when installed, is
# the load generator; without it a multi-process Python client stands in (apt-get install wrk to add it).
bench: install
	@command -v wrk >/dev/null || { echo "make: no wrk; trying Debian's package (the bench falls back to a Python client)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk \
	  || echo "make: wrk could not be installed: the multi-process Python client generates the load"; }
	$(PY) bench/suite.py

clean:
	rm -rf $(VENV) .pytest_cache

# make analytics-rebuild [DISTRICT=hb]: recompute the three rates' read model from the petitions (through the
# running petitions service, so it works with mongomock too) and swap it in
analytics-rebuild: install
	$(PY) -m services.petitions.analytics rebuild $(if $(DISTRICT),--district $(DISTRICT))

bench-analytics: install
	$(PY) bench/analytics.py
