#!/usr/bin/env bash
# Re-fetch the dashboard's vendored browser libraries from the npm registry.
#
# Each library is fetched with `npm pack <pkg>@<version>` (a plain tarball, no install, no
# lifecycle scripts), and only the dist files the dashboard loads plus the licence are copied
# into static/vendor/<lib>/. The dashboard must work offline, so nothing is loaded from a CDN.
# Usage: scripts/vendor.sh            (run from anywhere; needs npm and network access)
set -euo pipefail

SOCKET_IO_VERSION=4.8.3
UPLOT_VERSION=1.6.32
CODEMIRROR_VERSION=5.65.20
JS_YAML_VERSION=4.1.0

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
vendor="$root/static/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# fetch PKG VERSION -> echoes the unpacked package directory
fetch() {
    local pkg="$1" version="$2" dir="$work/$1"
    mkdir -p "$dir"
    (cd "$dir" && npm pack --silent "$pkg@$version" >/dev/null)
    tar -xzf "$dir"/*.tgz -C "$dir"
    echo "$dir/package"
}

# licence SRC_DIR DEST_DIR: copy whichever licence file the package ships
licence() {
    local src="$1" dest="$2" f
    for f in LICENSE LICENSE.md LICENSE.txt license license.md; do
        if [[ -f "$src/$f" ]]; then cp "$src/$f" "$dest/LICENSE"; return 0; fi
    done
    echo "no licence file in $src" >&2
    return 1
}

rm -rf "$vendor/socket.io" "$vendor/uplot" "$vendor/codemirror" "$vendor/js-yaml"

pkg="$(fetch socket.io-client "$SOCKET_IO_VERSION")"
mkdir -p "$vendor/socket.io"
cp "$pkg/dist/socket.io.min.js" "$vendor/socket.io/"
licence "$pkg" "$vendor/socket.io"

pkg="$(fetch uplot "$UPLOT_VERSION")"
mkdir -p "$vendor/uplot"
cp "$pkg/dist/uPlot.esm.js" "$pkg/dist/uPlot.min.css" "$vendor/uplot/"
licence "$pkg" "$vendor/uplot"

pkg="$(fetch codemirror "$CODEMIRROR_VERSION")"
mkdir -p "$vendor/codemirror/mode/yaml"
cp "$pkg/lib/codemirror.js" "$pkg/lib/codemirror.css" "$vendor/codemirror/"
cp "$pkg/mode/yaml/yaml.js" "$vendor/codemirror/mode/yaml/"
licence "$pkg" "$vendor/codemirror"

pkg="$(fetch js-yaml "$JS_YAML_VERSION")"
mkdir -p "$vendor/js-yaml"
cp "$pkg/dist/js-yaml.mjs" "$vendor/js-yaml/"
licence "$pkg" "$vendor/js-yaml"

# Record what was fetched, so a reader can tell the versions without opening the files.
cat > "$vendor/VERSIONS" <<EOF
socket.io-client $SOCKET_IO_VERSION  static/vendor/socket.io/socket.io.min.js  MIT
uplot $UPLOT_VERSION  static/vendor/uplot/uPlot.esm.js, uPlot.min.css  MIT
codemirror $CODEMIRROR_VERSION  static/vendor/codemirror/codemirror.js, codemirror.css, mode/yaml/yaml.js  MIT
js-yaml $JS_YAML_VERSION  static/vendor/js-yaml/js-yaml.mjs  MIT
EOF
echo "vendored into $vendor"
