#!/usr/bin/env bash
# Every test of MaaS.Mesh: sets up what is missing, builds once (Release), runs the unit, functional
# and end-to-end tests (the end-to-end tests start their own broker and processes on free loopback
# ports and stop them), and ends with the line "N passed, N failed[, N skipped]".
set -uo pipefail
cd "$(dirname "$0")"

infra/setup.sh || { echo "0 passed, 1 failed"; exit 1; }

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

status=0
dotnet test MaaS.Mesh.sln -c Release --no-build -nologo -m:1 \
  --logger "trx" --results-directory "$results" 2>&1 | tee "$results/console.log" || status=$?

python3 - "$results" "$status" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
folder, status = sys.argv[1], int(sys.argv[2])
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
passed = failed = skipped = 0
files = glob.glob(f"{folder}/**/*.trx", recursive=True)
for f in files:
    c = ET.parse(f).getroot().find("t:ResultSummary/t:Counters", ns)
    passed += int(c.get("passed", 0))
    failed += int(c.get("failed", 0)) + int(c.get("error", 0)) + int(c.get("timeout", 0)) + int(c.get("aborted", 0))
    skipped += int(c.get("notExecuted", 0))
if status != 0 and failed == 0:
    failed = 1  # the run itself broke (a crashed test host, a build problem): never report green
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(0 if failed == 0 and passed > 0 else 1)
PY
