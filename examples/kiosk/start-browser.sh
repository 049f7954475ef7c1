#!/bin/sh
# Open the kiosk page full screen in Chromium (Raspberry Pi OS: `chromium-browser`; Debian:
# `chromium`), with no address bar, error dialogs or "restore pages?" bubble.
#   examples/kiosk/start-browser.sh                      # http://127.0.0.1:8080/
#   examples/kiosk/start-browser.sh http://127.0.0.1:9000/
URL="${1:-http://127.0.0.1:8080/}"
BROWSER="$(command -v chromium-browser || command -v chromium)"
if [ -z "$BROWSER" ]; then
  echo "start-browser.sh: no Chromium found (Pi OS: sudo apt install chromium-browser; Debian: sudo apt install chromium)" >&2
  exit 2
fi
exec "$BROWSER" --kiosk --noerrdialogs --disable-infobars --no-first-run --disable-session-crashed-bubble \
  --check-for-update-interval=31536000 --autoplay-policy=no-user-gesture-required "$URL"
