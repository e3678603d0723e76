#!/usr/bin/env bash
# Installs the Debian packages bulu needs when they are missing and we are root;
# otherwise says what to install. "app": PDF rendering; "test": also the browser for UI tests.
set -euo pipefail
want=(fonts-noto-cjk fonts-arphic-uming fonts-arphic-ukai libharfbuzz-subset0)
# LibreOffice: tests open the workbooks the app writes in a real spreadsheet program; zbar reads
# the PDFs' QR codes back.
if [ "${1:-app}" = "test" ]; then want+=(chromium poppler-utils libreoffice-calc-nogui zbar-tools); fi
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "bulu: please install these system packages: ${missing[*]} (a CJK font, HarfBuzz subsetting, Chromium and LibreOffice Calc for tests)" >&2
  exit 0
fi
if [ "$(id -u)" = "0" ]; then
  echo "bulu: installing system packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "bulu: missing system packages: ${missing[*]}" >&2
  echo "      run: sudo apt-get install ${missing[*]}" >&2
  echo "      (PDFs need a CJK font; browser tests need chromium and are skipped without it)" >&2
fi
