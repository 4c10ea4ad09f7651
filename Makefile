VENV ?= .venv
PY := $(VENV)/bin/python
SAMPLE := resources/sample/big_buck_bunny_0_30.webm

.PHONY: install run test clean checkpoints

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

# The demo checkpoints in resources/checkpoints/: both trainable methods pretrained on the
# sample videos (demo scale: 3 short clips), then stripped of the optimizer state (< 5 MB each).
VIDEOS ?= ../shared/data/videos
DEMO_ARGS := --videos $(VIDEOS) --epochs 40 --batch-size 16 --windows-per-video 16 --device cpu --seed 0
checkpoints: install
	mkdir -p build/checkpoints resources/checkpoints
	for m in ctvsum csum; do \
	  $(VENV)/bin/vsumgui-train pretrain --method $$m $(DEMO_ARGS) --out build/checkpoints/$$m.pt && \
	  $(VENV)/bin/vsumgui-train strip build/checkpoints/$$m.pt --out resources/checkpoints/$$m.pt || exit 1; \
	done

clean:
	rm -rf $(VENV) build *.egg-info
