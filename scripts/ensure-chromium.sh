#!/usr/bin/env bash
# Makes sure a headless Chromium (and a Chinese font, so screenshots are readable) is available
# for the browser tests in test/browser/. Uses CHROMIUM_PATH when set, else /usr/bin/chromium.
# When something is missing and we are root with apt-get, installs Debian's packages `chromium`
# and `fonts-wqy-microhei`; otherwise prints how to install them.
# Exit 0 when Chromium is there afterwards, 1 otherwise (a missing font only warns).
set -u

chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"

have_font() {
  command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh 2>/dev/null)" ]
}

packages=()
[ -x "$chromium" ] || packages+=(chromium)
have_font || packages+=(fonts-wqy-microhei)

if [ "${#packages[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: installing Debian package(s) ${packages[*]} with apt-get for the browser tests (a minute or two)..."
    export DEBIAN_FRONTEND=noninteractive
    log="${TMPDIR:-/tmp}/ensure-chromium.log"
    if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${packages[@]}"; } >"$log" 2>&1; then
      echo "ensure-chromium: apt-get failed; see $log" >&2
    fi
  else
    echo "ensure-chromium: missing ${packages[*]}; install with: sudo apt-get install --no-install-recommends ${packages[*]} (or set CHROMIUM_PATH to a Chromium/Chrome binary)" >&2
  fi
fi

if ! have_font; then
  echo "ensure-chromium: warning: no Chinese font found; screenshots will show boxes instead of characters" >&2
fi
if [ -x "$chromium" ]; then
  exit 0
fi
echo "ensure-chromium: Chromium is still missing at $chromium" >&2
exit 1
