#!/usr/bin/env bash
# Copy the built files of our front-end dependencies into the static folder (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=yiyang/static/vendor
rm -rf "$dest" && mkdir -p "$dest"/{htmx,bootstrap,axe}
cp node_modules/htmx.org/dist/htmx.min.js "$dest/htmx/"
cp node_modules/bootstrap/dist/css/bootstrap.min.css "$dest/bootstrap/"
cp node_modules/bootstrap/dist/js/bootstrap.bundle.min.js "$dest/bootstrap/"
cp node_modules/axe-core/axe.min.js "$dest/axe/"
