#!/bin/sh
set -eu
echo "cleanup.sh ran" >> "$WORKDIR/log.txt"
