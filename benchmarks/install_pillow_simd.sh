#!/bin/sh
# Opt-in: build pillow-simd (AVX2) into benchmarks/.pillow-simd without touching the project's venv.
# run.py then measures the CPU path with both Pillows side by side. To use it for real builds instead,
# replace Pillow in your venv:  pip uninstall -y pillow && CC="cc -mavx2" pip install pillow-simd
# (it keeps the `PIL` import name; the toolkit's codec settings are explicit, so outputs only differ
# where the two libraries' resamplers differ: record which one built a dataset, the card does).
set -e
cd "$(dirname "$0")"
if ! dpkg -s libwebp-dev >/dev/null 2>&1 || ! dpkg -s libjpeg-dev >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends \
    libjpeg-dev zlib1g-dev libwebp-dev libpng-dev >/dev/null
fi
PY="${PYTHON:-../.venv/bin/python}"
CC="cc -mavx2" "$PY" -m pip install --quiet --no-deps --no-cache-dir --target .pillow-simd "pillow-simd==12.1.1.post0"
PYTHONPATH=.pillow-simd "$PY" -c "import PIL, PIL.features as f; print('pillow-simd', PIL.__version__, 'webp', f.check('webp'))"
