#!/usr/bin/env bash
# The documentation site, built with docfx (a local .NET tool: .config/dotnet-tools.json): the API pages generated from
# the XML comments of src/DiscreteGrad, the guide (docs/guide), the experiment reports (docs/experiments) and the
# benchmarks, into docs/_site (ignored by git).
#
#   scripts/docs-site.sh build              restore docfx, generate the API pages, build the site; prints the time and
#                                           the warning count (the full log is named); fails on a docfx error
#   scripts/docs-site.sh check [OUT_DIR]    serve docs/_site on 127.0.0.1, open the home page and the API page of
#                                           discrete.functional (reinmax and the other estimators) in headless Chromium, save
#                                           OUT_DIR/site-home.png and OUT_DIR/site-api.png, and fail with one line if a
#                                           page is missing, blank (one colour) or not the expected page;
#                                           OUT_DIR defaults to ${TMPDIR:-/tmp}/discretegrad-docs-check
#   scripts/docs-site.sh all [OUT_DIR]      build, then check
#
# Needs the .NET SDK (docfx is restored from NuGet), python3 (the local HTTP server and the PNG check) and Chromium
# (Debian's `chromium`; installed with apt-get when missing and this runs as root).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
docs="$here/docs"
site="$docs/_site"
log="${TMPDIR:-/tmp}/discretegrad-docfx.log"

fail() { echo "docs-site: $*" >&2; exit 1; }

build() {
  cd "$here"
  local start end warnings errors
  start=$(date +%s)
  dotnet tool restore >/dev/null || fail "dotnet tool restore failed (docfx is in .config/dotnet-tools.json)"
  rm -rf "$site" "$docs"/api/*.yml "$docs/api/.manifest"
  if ! dotnet docfx "$docs/docfx.json" >"$log" 2>&1; then
    grep -E "error" "$log" | head -5 >&2 || true
    fail "docfx failed; log: $log"
  fi
  end=$(date +%s)
  # docfx ends each of its two steps (metadata, build) with "N warning(s)" and "N error(s)".
  warnings=$(grep -Eo '^ *[0-9]+ warning\(s\)' "$log" | awk '{s += $1} END {print s + 0}')
  errors=$(grep -Eo '^ *[0-9]+ error\(s\)' "$log" | awk '{s += $1} END {print s + 0}')
  [ "$errors" -eq 0 ] || fail "docfx reported $errors error(s); log: $log"
  [ -s "$site/index.html" ] || fail "docfx wrote no $site/index.html; log: $log"
  echo "built $site in $((end - start)) s: $warnings warning(s), $errors error(s) (log: $log)"
  if [ "$warnings" -gt 0 ]; then grep -E 'warning' "$log" | grep -Ev '^ *[0-9]+ warning' | sed 's/^/  /' | head -20; fi
}

ensure_chromium() {
  command -v chromium >/dev/null && return 0
  [ "$(id -u)" -eq 0 ] || fail "chromium is missing; install Debian's package: apt-get install -y chromium"
  echo "installing Debian's chromium ..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null \
    || fail "apt-get install chromium failed"
}

# Fails unless the PNG has more than a handful of distinct byte values once inflated (a blank page is one colour).
check_png() {
  python3 - "$1" <<'PY' || exit 1
import struct, sys, zlib
path = sys.argv[1]
data = open(path, "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n":
    sys.exit(f"docs-site: {path} is not a PNG")
pos, idat, width, height = 8, b"", 0, 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    if kind == b"IHDR":
        width, height = struct.unpack(">II", data[pos + 8:pos + 16])
    elif kind == b"IDAT":
        idat += data[pos + 8:pos + 8 + n]
    pos += 12 + n
distinct = len(set(zlib.decompress(idat)))
if distinct < 32:
    sys.exit(f"docs-site: {path} ({width} x {height}) is blank: {distinct} distinct byte values")
print(f"  {path}: {width} x {height}, {distinct} distinct byte values")
PY
}

check() {
  local out="${1:-${TMPDIR:-/tmp}/discretegrad-docs-check}"
  [ -s "$site/index.html" ] || fail "no built site at $site: run scripts/docs-site.sh build first"
  local api="api/DiscreteGrad.discrete.functional.html"
  [ -s "$site/$api" ] || fail "the built site has no $api"
  ensure_chromium
  mkdir -p "$out"
  out="$(cd "$out" && pwd)"
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  python3 -m http.server "$port" --bind 127.0.0.1 --directory "$site" >"$out/http.log" 2>&1 &
  server_pid=$!
  trap 'kill "$server_pid" 2>/dev/null || true' EXIT
  for _ in $(seq 50); do
    python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/index.html')" 2>/dev/null && break
    sleep 0.1
  done
  local chrome=(chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --mute-audio
    --virtual-time-budget=8000 --window-size=1280,1000)
  page() {   # page URL_PATH PNG EXPECTED_TEXT...
    local url="http://127.0.0.1:$port/$1" png="$out/$2" dom="$out/${2%.png}.html"
    shift 2
    "${chrome[@]}" --dump-dom "$url" >"$dom" 2>/dev/null || fail "chromium could not open $url"
    for text in "$@"; do
      grep -qF "$text" "$dom" || fail "$url does not show \"$text\" (DOM: $dom)"
    done
    rm -f "$png"
    "${chrome[@]}" --screenshot="$png" "$url" >/dev/null 2>&1 || true
    [ -s "$png" ] || fail "chromium wrote no screenshot of $url"
    check_png "$png"
  }
  echo "checking the site in headless Chromium ($(chromium --version 2>/dev/null | head -1)):"
  page index.html site-home.png "<title>DiscreteGrad" "Which estimator should I use?" "Getting started"
  page "$api" site-api.png "Class discrete.functional" "reinmax(" "gumbel_softmax("
  echo "site check passed: $out/site-home.png, $out/site-api.png"
}

case "${1:-}" in
  build) build ;;
  check) check "${2:-}" ;;
  all) build; check "${2:-}" ;;
  *) echo "usage: scripts/docs-site.sh build | check [OUT_DIR] | all [OUT_DIR]" >&2; exit 2 ;;
esac
