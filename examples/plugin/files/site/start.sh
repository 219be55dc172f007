#!/bin/sh
# Uploaded by the file provisioner, run by the shell provisioner: on the machine, with its busybox.
echo "site files:" $(ls /srv/site)
echo "index says: $(cat /srv/site/index.html)"
