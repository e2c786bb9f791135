#!/usr/bin/env bash
# System packages the project needs: Debian's chromium (browser tests of the reports), a CJK font
# (Chinese labels in charts) and Java 17 (local Spark in the engine tests). Installs only what is missing;
# needs root or sudo for apt-get.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# grep reads everything (no -q): under pipefail an early exit would SIGPIPE fc-list and look like "missing"
fc-list 2>/dev/null | grep -i "Noto Sans CJK" >/dev/null || missing+=(fonts-noto-cjk)
# Java 17+ for the local Spark session of the engine-equality tests (tests/test_engines.py)
java -version 2>&1 | grep -E 'version "(1[7-9]|[2-9][0-9])' >/dev/null || missing+=(openjdk-17-jre-headless)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing system packages: ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" fontconfig >/dev/null
