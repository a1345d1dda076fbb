#!/usr/bin/env bash
# Installs the Debian packages Fileloom needs, only those missing. Usage:
#   scripts/install-system-deps.sh runtime   # WeasyPrint: Pango, HarfBuzz subsetting, fonts; Chromium; LibreOffice Writer; Node.js
#   scripts/install-system-deps.sh test      # the same (kept for `make test`)
set -euo pipefail

runtime=(
  libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b
  libharfbuzz-subset0   # without it WeasyPrint subsets fonts ~6x slower
  fonts-dejavu-core fonts-liberation2 shared-mime-info
  # What fileloom.io documents expect: CJK text, colour emoji, and Inter / Roboto / Open Sans
  # by name (without them those families silently fall back to DejaVu).
  fonts-noto-cjk fonts-noto-color-emoji fonts-inter fonts-roboto fonts-open-sans
  chromium              # the chromium engine (Playwright drives it; never `playwright install`)
  util-linux            # setpriv: browser processes die with their render process
  libreoffice-writer-nogui   # DOCX → PDF/HTML (cloudlayer docx/pdf, docx/html), headless, no GUI toolkit
)
# Node.js: npm installs the admin's code editor (and, for tests, the handlebars.js reference).
command -v node >/dev/null 2>&1 || runtime+=(nodejs npm)
# Tests need nothing more today; `test` stays a valid argument for `make test`.
wanted=("${runtime[@]}")

missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "Missing Debian packages: ${missing[*]}" >&2
  echo "Install them with: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
