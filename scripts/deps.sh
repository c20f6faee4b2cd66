#!/usr/bin/env bash
# Installs every Debian and npm dependency Floe needs to build, test and
# benchmark. Idempotent: a second run with everything present does nothing
# but check. Called by `make deps`, so both README commands go through it.
set -euo pipefail

cd "$(dirname "$0")/.."

DEBS=(
  build-essential pkg-config clang-14 libclang-rt-14-dev clang-format
  libmicrohttpd-dev libcurl4-openssl-dev libjansson-dev libexpat1-dev
  libfyaml-dev libsqlite3-dev libssl-dev libpq-dev libhiredis-dev
  libzstd-dev libsnappy-dev zlib1g-dev libxxhash-dev liblz4-dev libbrotli-dev
  libcriterion-dev python3-avro python3-snappy python3-zstandard
  awscli python3-boto3 rclone s3cmd nginx redis-server postgresql
  curl hyperfine procps zstd
)
# Node.js (with npm) may come from the image; install Debian's only if absent.
command -v npm >/dev/null 2>&1 || DEBS+=(nodejs npm)

missing=()
for p in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "deps: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages for end-to-end tests, pinned by tests/e2e/package-lock.json.
if [ -f tests/e2e/package.json ]; then
  if [ ! -d tests/e2e/node_modules ] || [ tests/e2e/package-lock.json -nt tests/e2e/node_modules/.stamp ]; then
    echo "deps: npm ci in tests/e2e" >&2
    # npm ci refuses a lockfile that lacks the other platforms' optional
    # packages (@duckdb/node-bindings-darwin-*, ...), which a registry mirror
    # may not carry; npm install honours the same lockfile pins.
    (cd tests/e2e && { npm ci --no-audit --no-fund --loglevel=error 2>/dev/null ||
        npm install --no-audit --no-fund --loglevel=error; } && touch node_modules/.stamp)
  fi
fi
