#!/bin/sh
# Lane debian-6.1: see run-lane.sh.
exec "$(dirname "$0")/run-lane.sh" debian-6.1
