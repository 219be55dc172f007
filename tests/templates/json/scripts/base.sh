#!/bin/sh
# Corpus helper script: records what the provisioner gave it.
set -eu
mkdir -p "$WORKDIR"
echo "base.sh ran for $PACKER_BUILD_NAME as $(id -un 2>/dev/null || echo someone)" >> "$WORKDIR/log.txt"
