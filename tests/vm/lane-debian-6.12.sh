#!/bin/sh
# Lane debian-6.12: see run-lane.sh.
exec "$(dirname "$0")/run-lane.sh" debian-6.12
