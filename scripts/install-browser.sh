#!/usr/bin/env bash
# Installs what the browser and print tests need when it is missing: Debian's Chromium and CJK fonts.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need+=(fonts-noto-cjk)
# The print PDF embeds a TrueType CJK font (the PDF library cannot embed Noto's CFF outlines).
fc-list 2>/dev/null | grep -qi "WenQuanYi Zen Hei" || need+=(fonts-wqy-zenhei)
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing ${need[*]} for the browser tests (apt-get)" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
