#!/usr/bin/env bash
# Runs a command as on a machine without Debian's Chromium and the libraries it would bring: in a private mount
# namespace (nothing changes outside it), the shared libraries Chromium links against (NSS, NSPR, expat, fontconfig,
# freetype, X11/xcb, GTK, ATK, cups, ALSA, DRM/GBM, EGL/GL, Vulkan, dbus, pango, cairo, harfbuzz …) are hidden from
# /usr/lib/x86_64-linux-gnu by an overlay of whiteouts, and the system fonts and fontconfig folders are emptied.
# Chromium itself is not on PATH either way. Needs root (unshare, mount); x86_64 Debian layout.
#
#   sudo test/support/without-system-browser.sh npx jest test/e2e/report.test.ts
#
# What it shows: the report's page test passes with only the browser `npm ci` brings (@sparticuz/chromium,
# test/support/chromium.ts), because that browser needs nothing from the system beyond glibc and libgcc.
set -euo pipefail
if [ "${CSDR_IN_NAMESPACE:-}" != 1 ]; then
  [ "$(id -u)" = 0 ] || { echo "$0: needs root (unshare -m, mount)" >&2; exit 2; }
  exec env CSDR_IN_NAMESPACE=1 unshare -m --propagation private "$0" "$@"
fi
LIB=/usr/lib/x86_64-linux-gnu
OV=$(mktemp -d)
mount -t tmpfs tmpfs "$OV"
mkdir -p "$OV/upper" "$OV/work"
hidden=0
for f in $(ls "$LIB" | grep -E '^lib(nss3|nspr4|plc4|plds4|expat|fontconfig|freetype|softokn3|freebl|nssutil3|smime3|gbm|drm|X|xcb|xkbcommon|asound|atk|atspi|cups|gtk|gdk|pango|cairo|dbus|harfbuzz|png16|jpeg|wayland|EGL|GL|vulkan|xshmfence|avahi|gnutls|epoxy)'); do
  mknod "$OV/upper/$f" c 0 0
  hidden=$((hidden + 1))
done
mount -t overlay overlay -o "lowerdir=$LIB,upperdir=$OV/upper,workdir=$OV/work" "$LIB"
for d in /usr/share/fonts /usr/share/fontconfig /etc/fonts /usr/share/X11 /usr/lib/chromium; do
  if [ -d "$d" ]; then mount -t tmpfs tmpfs "$d"; fi
done
# A Debian chromium on PATH (if installed) becomes /dev/null: not executable, so not found.
for name in chromium chromium-browser google-chrome; do
  if p=$(command -v "$name" 2>/dev/null); then mount --bind /dev/null "$(readlink -f "$p")"; fi
done
hash -r
echo "without-system-browser: $hidden library files hidden, fonts/fontconfig emptied; chromium on PATH: $(command -v chromium || echo none)" >&2
exec "$@"
