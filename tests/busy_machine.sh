#!/usr/bin/env bash
# `make test` five times in a row on a fresh clone while two busy loops keep both cores loaded.
# Usage: bash tests/busy_machine.sh [RUNS]   (prints one line per run; logs in $WORK/runN.log)
set -u
RUNS=${1:-5}
WORK=$(mktemp -d)
git clone -q "$(git rev-parse --show-toplevel)" "$WORK/clone"
cd "$WORK/clone"
python3 -c "while True: pass" & busy1=$!
python3 -c "while True: pass" & busy2=$!
trap 'kill $busy1 $busy2 2>/dev/null' EXIT
for run in $(seq 1 "$RUNS"); do
  started=$(date +%s)
  if make test > "$WORK/run$run.log" 2>&1; then result=pass; else result=FAIL; fi
  echo "run $run: $result in $(( $(date +%s) - started )) s — $(grep -E 'passed|failed' "$WORK/run$run.log" | tail -1)"
done
