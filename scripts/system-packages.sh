#!/usr/bin/env bash
# System packages, by need (installs only what is missing; needs root or sudo for apt-get):
#   scripts/system-packages.sh runtime   a CJK font (Chinese labels in charts): make report, make lab
#   scripts/system-packages.sh test      the runtime's, plus Debian's chromium (browser tests of the reports) and
#                                        Java 17 (local Spark in the engine tests): make test
set -euo pipefail
need="${1:-test}"
case "$need" in
  runtime|test) ;;
  *) echo "usage: $0 [runtime|test]" >&2; exit 2 ;;
esac
missing=()
# grep reads everything (no -q): under pipefail an early exit would SIGPIPE fc-list and look like "missing"
fc-list 2>/dev/null | grep -i "Noto Sans CJK" >/dev/null || missing+=(fonts-noto-cjk)
if [ "$need" = test ]; then
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  # Java 17+ for the local Spark session of the engine-equality tests (tests/test_engines.py)
  java -version 2>&1 | grep -E 'version "(1[7-9]|[2-9][0-9])' >/dev/null || missing+=(openjdk-17-jre-headless)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing system packages ($need): ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" fontconfig >/dev/null
