#!/bin/bash -eu
# Builds every cargo-fuzz target of fuzz/ and puts into $OUT what ClusterFuzzLite and
# OSS-Fuzz run: the target binaries and <target>_seed_corpus.zip (from corpus/<target>/).
#
# In the builder image (.clusterfuzzlite/Dockerfile) it runs as $SRC/build.sh from
# $SRC/kmemfuzz, with $SANITIZER set (address, coverage, ...) and the image's nightly
# toolchain. Outside Docker it runs on stable Rust:
#
#   OUT=/tmp/out SRC=/tmp CARGO_TARGET_DIR=$PWD/fuzz/target .clusterfuzzlite/build.sh
#
# scripts/test-cflite-build does exactly that and checks what lands in $OUT.
#
# Sanitizers: $SANITIZER unset, empty or `none` builds with `cargo fuzz build -s none` (no
# sanitizer runtime, no nightly flag: the model is safe Rust). `address`, `memory`, `thread`
# and `leak` are passed to cargo fuzz as `-s NAME` (they need nightly, as the image has).
# `undefined` has no Rust counterpart and builds as `none`. `coverage` passes no -s: the
# image's cargo wrapper turns `cargo fuzz build` into a plain instrumented `cargo build`.

: "${OUT:?set OUT to the directory that receives the fuzz targets}"
: "${SRC:?set SRC (the builder image sets it to /src)}"

# The repository: beside this script (run in place), or the working directory (the image
# copies this script to $SRC/build.sh and runs it from $SRC/kmemfuzz).
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ -f "$here/../fuzz/Cargo.toml" ]]; then
    ROOT="$(cd "$here/.." && pwd)"
elif [[ -f "$PWD/fuzz/Cargo.toml" ]]; then
    ROOT="$PWD"
elif [[ -f "$SRC/kmemfuzz/fuzz/Cargo.toml" ]]; then
    ROOT="$SRC/kmemfuzz"
else
    echo "build.sh: cannot find the repository (fuzz/Cargo.toml)" >&2
    exit 2
fi

case "${SANITIZER:-none}" in
    address | memory | thread | leak) SAN=(-s "$SANITIZER") ;;
    coverage) SAN=() ;;
    none | undefined | "") SAN=(-s none) ;;
    *)
        echo "build.sh: unknown SANITIZER '$SANITIZER'" >&2
        exit 2
        ;;
esac

# cargo fuzz builds for the host triple; binaries land in <target dir>/<triple>/release.
TRIPLE="$(rustc -vV | sed -n 's/^host: //p')"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/fuzz/target}"
BIN_DIR="$TARGET_DIR/$TRIPLE/release"

# Every target is a file of fuzz/fuzz_targets/ (the bin of the same name in fuzz/Cargo.toml).
# Not `cargo fuzz list`: in a coverage build the image's wrapper turns every `cargo fuzz`
# command into a build.
TARGETS=()
for f in "$ROOT"/fuzz/fuzz_targets/*.rs; do
    # empty is the measuring stick of docs/performance.md, not a target to fuzz.
    [[ "$(basename "$f" .rs)" == empty ]] && continue
    TARGETS+=("$(basename "$f" .rs)")
done
((${#TARGETS[@]})) || {
    echo "build.sh: no targets in $ROOT/fuzz/fuzz_targets" >&2
    exit 2
}

echo "build.sh: cargo fuzz build -O ${SAN[*]} (${TARGETS[*]}) into $TARGET_DIR"
(cd "$ROOT/fuzz" && cargo fuzz build -O "${SAN[@]}")

mkdir -p "$OUT"
for t in "${TARGETS[@]}"; do
    [[ -x "$BIN_DIR/$t" ]] || {
        echo "build.sh: the build left no binary at $BIN_DIR/$t" >&2
        exit 1
    }
    cp "$BIN_DIR/$t" "$OUT/$t"
    seeds="$ROOT/corpus/$t"
    zipfile="$OUT/${t}_seed_corpus.zip"
    rm -f "$zipfile"
    if [[ -d "$seeds" ]] && [[ -n "$(ls -A "$seeds")" ]]; then
        # Flat, as libFuzzer wants the seeds (zip -j; -X: no extra attributes). Without zip,
        # Python's zipfile module does the same.
        if command -v zip >/dev/null; then
            (cd "$seeds" && zip -q -X -j "$zipfile" ./*)
        else
            (cd "$seeds" && python3 -m zipfile -c "$zipfile" ./*)
        fi
    fi
    echo "build.sh: $OUT/$t$([[ -f "$zipfile" ]] && echo " + ${t}_seed_corpus.zip")"
done
