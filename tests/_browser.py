"""The headless Chromium both browser tests drive (installed by `make chromium`)."""

import shutil

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Headless as root, with no network: no sandbox, no GPU, nothing that phones home.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
