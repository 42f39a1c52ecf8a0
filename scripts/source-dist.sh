#!/bin/sh
# make source-dist: the source tarball Buildroot builds pos from offline,
# dist/pos-src-VERSION.tar.gz: the committed tree at HEAD with its Go
# modules vendored. Reproducible: sorted names, the commit's time, no
# owners. Usage: scripts/source-dist.sh OUTDIR VERSION
set -eu
out=$1
version=$2
cd "$(dirname "$0")/.."
epoch=$(git log -1 --format=%ct)
work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
name="pos-src-$version"
mkdir -p "$work/$name" "$out"
git archive HEAD | tar -x -C "$work/$name"
(cd "$work/$name" && GOFLAGS=-mod=mod go mod vendor)
tar --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner \
	-C "$work" -cf - "$name" | gzip -n -9 > "$out/$name.tar.gz"
echo "$out/$name.tar.gz"
