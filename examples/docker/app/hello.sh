#!/bin/sh
echo "hello from the image built by Hatchway"
cat /opt/app/build-info.txt
