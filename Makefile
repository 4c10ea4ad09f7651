VENV ?= .venv
PY := $(VENV)/bin/python
SAMPLE := resources/sample/big_buck_bunny_0_30.webm

.PHONY: install run test clean

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: install
	$(VENV)/bin/vsumgui $(SAMPLE)

test: install
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

clean:
	rm -rf $(VENV) build *.egg-info
