#!/bin/sh
# Lane locked-down: see run-lane.sh.
exec "$(dirname "$0")/run-lane.sh" locked-down
