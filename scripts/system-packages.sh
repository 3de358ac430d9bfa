#!/usr/bin/env bash
# Installs the Debian packages that the app or its tests need, only if they are missing.
#   run:   fonts-wqy-zenhei and fonts-babelstone-han (the TrueType fonts embedded in the printed
#          notice and the plaque certificates; the second has the CJK Extension B characters)
#   test:  the run fonts, postgresql (a throwaway test cluster is started by scripts/with-postgres.sh),
#          chromium (real-browser tests) and poppler-utils (pdftotext reads the PDFs back)
#   build: gcc, and python3-dev when $PYTHON (default python3) has no Python.h: `pip install` compiles
#          scoring/_plain_csv.pyx, the engine's reader of plain CSV reviews
#   bench: wrk (the load tool of the performance measurements)
# Needs root (or sudo) the first time; later runs find everything installed and do nothing.
set -euo pipefail
profile=${1:-test}
want=()
case "$profile" in
  test) want=(postgresql chromium fonts-wqy-zenhei fonts-babelstone-han poppler-utils) ;;
  run) want=(fonts-wqy-zenhei fonts-babelstone-han) ;;
  bench) want=(wrk) ;;
  build)
    want=(gcc)
    headers=$("${PYTHON:-python3}" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
    [ -f "$headers/Python.h" ] || want+=(python3-dev)
    ;;
  *) echo "usage: $0 [run|test|build|bench]" >&2; exit 2 ;;
esac
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing Debian packages needed for '$profile': ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else
    echo "Not root and no sudo: please install these Debian packages: ${missing[*]}" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -q
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
