#!/bin/sh
# System packages the toolkit needs beyond PyPI, installed only when missing.
#   runtime: libEGL + Mesa (llvmpipe) so shader reals render headless on a CPU machine
#   --test:  also Debian's chromium, which the tests use to render `toolkit inspect`'s HTML page
# On a GPU machine the NVIDIA driver provides libEGL; Mesa is still harmless to have.
set -e
want=""
ldconfig -p 2>/dev/null | grep -q 'libEGL_mesa.so.0' || want="$want libegl1 libegl-mesa0 libgl1-mesa-dri"
if [ "$1" = "--test" ]; then
  command -v chromium >/dev/null 2>&1 || want="$want chromium"
fi
[ -z "$want" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: please install:$want (no apt-get here)" >&2; exit 1
fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
echo "system-deps: installing$want" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $want >/dev/null
