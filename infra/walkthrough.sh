#!/usr/bin/env bash
# The README's story as the `maas` commands a user types, through the gateway: upload y = 2x + 1 data → train →
# version 1 → production → update policy → infer over gRPC and REST → ingest rows of y = 3x + 1 → the updater retrains,
# gates and rolls the challenger out → the default answers ≈ 3x + 1 while version 1, pinned, still answers ≈ 2x + 1.
# ./run.sh runs it against the mesh it started; the end-to-end tests run it against theirs.
#
# Where and how (the CLI's own precedence: environment > config file > defaults):
#   MAAS_ADDRESS       gateway gRPC (default http://127.0.0.1:8001)
#   MAAS_REST_ADDRESS  gateway REST (default http://127.0.0.1:8000)
#   MAAS_API_KEY       admin key (default: the first line of .maas/admin.key, which ./run.sh writes)
#   MAAS_CLI_DLL       the CLI to run (default: the Release build, as ./run.sh builds it)
#   MAAS_WALKTHROUGH_TIMEOUT  seconds the whole story may take (default 300)
# Exit 0 when every check held; otherwise a line saying which one failed and a non-zero exit.
set -euo pipefail
cd "$(dirname "$0")/.."

model=linear-regression
probe=0,1,2,3
deadline=$((SECONDS + ${MAAS_WALKTHROUGH_TIMEOUT:-300}))
step=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A maas command that fails under `set -e` prints its own "error: …" line; this says where the story stopped.
trap 'echo "walkthrough FAILED in step $step (a command exited $?)" >&2' ERR

cli=${MAAS_CLI_DLL:-$(find services/MaaS.Cli/bin/Release -name maas.dll 2>/dev/null | head -1)}
if [ -z "$cli" ] || [ ! -f "$cli" ]; then
  echo "walkthrough FAILED: the maas CLI is not built (dotnet build -c Release services/MaaS.Cli, or set MAAS_CLI_DLL)" >&2
  exit 1
fi
maas() { dotnet "$cli" "$@"; }

Step() { step=$1; echo; echo "Step $1: $2"; }
say() { echo "      $*"; }
fail() { echo "walkthrough FAILED in step $step: $*" >&2; exit 1; }
remaining() { echo $((deadline - SECONDS)); }
out_of_time() { [ "$SECONDS" -ge "$deadline" ]; }

# `get PATH` prints one field of the JSON on stdin (PATH like job.registeredVersion or decisions.-1.promoted; n/a when absent).
get() {
  python3 -c 'import json,sys
d=json.load(sys.stdin)
for k in sys.argv[1].split("."):
    d=d[int(k)] if k.lstrip("-").isdigit() else d.get(k, "n/a") if isinstance(d, dict) else "n/a"
print(str(d).lower() if isinstance(d,bool) else d)' "$1"
}

# `rows FILE SLOPE SEED`: 100 rows of y = SLOPE·x + 1 + noise(0.1), x uniform in [0, 3), reproducible for a seed.
rows() {
  python3 -c 'import random,sys
r=random.Random(int(sys.argv[2])); a=float(sys.argv[1])
print("x,y")
for _ in range(100):
    x=r.random()*3; print(f"{x!r},{a*x+1+0.1*r.gauss(0,1)!r}")' "$2" "$3" > "$1"
}

# `check LABEL SLOPE` reads an infer answer (gRPC or REST --output json) on stdin; it must be ≈ SLOPE·x + 1 at x = 0..3.
check() {
  python3 -c 'import base64,json,struct,sys
d=json.load(sys.stdin); label=sys.argv[1]; a=float(sys.argv[2])
if "outputs" in d and d.get("rawOutputContents"):
    raw=base64.b64decode(d["rawOutputContents"][0]); v=list(struct.unpack("<%df" % (len(raw)//4), raw))
elif "modelVersion" in d:
    v=d["outputs"][0]["contents"]["fp32Contents"]
else:
    v=d["outputs"][0]["data"]
ver=d.get("modelVersion", d.get("model_version"))
worst=max(abs(v[i]-(a*i+1)) for i in range(4)); ok=worst<=0.25
print("      %-24s version %s: [%s] ≈ %gx + 1 %s" % (label, ver, ", ".join("%.3f" % y for y in v[:4]), a, "✓" if ok else "✗"))
if not ok: sys.exit("walkthrough FAILED: %s answered [%s], not ≈ %gx + 1" % (label, ", ".join("%.3f" % y for y in v[:4]), a))' "$1" "$2"
}

# `wait_served VERSION`: calls the default version over gRPC until VERSION answers (replicas load it, then traffic moves); keeps the answer.
wait_served() {
  while true; do
    if maas infer "$model" --input "input=4,1:FP32:$probe" --output json > "$work/served.json" 2> /dev/null &&
       [ "$(get modelVersion < "$work/served.json")" = "$1" ]; then
      return 0
    fi
    out_of_time && fail "version $1 never became the default answer"
    sleep 0.5
  done
}

Step 1 "generate 100 rows of y = 2x + 1 + noise(0.1) and upload them"
rows "$work/linear-regression-train.csv" 2 1
maas datasets upload "$work/linear-regression-train.csv" --name linear-regression-train --description "y = 2x + 1 + noise(0.1)"

Step 2 "train $model with TorchSharp (SGD, MSE, 1000 epochs, lr 0.1)"
maas train --model "$model" --dataset linear-regression-train --features x --label y --architecture linear_regression \
  --optimizer sgd --loss mse --epochs 1000 --learning-rate 0.1 --seed 42 --watch --output json --timeout-seconds "$(remaining)" > "$work/job.jsonl" ||
  fail "training did not succeed: $(tail -1 "$work/job.jsonl" 2> /dev/null)"
# One line per state the job went through, not one per epoch.
python3 -c 'import json,sys
last=None
for line in open(sys.argv[1]):
    j=json.loads(line)["job"]
    if j["state"]!=last: print("      job %s %s (%s epochs)" % (j["jobId"], j["state"].replace("JOB_STATE_",""), j.get("epochsDone", 0))); last=j["state"]' "$work/job.jsonl"
maas jobs get "$(tail -1 "$work/job.jsonl" | get job.jobId)" --output json > "$work/job.json"
version=$(get job.registeredVersion < "$work/job.json")
[[ "$version" =~ ^[1-9][0-9]*$ ]] || fail "the job registered no version"
say "train_mse $(get job.metrics.train_mse < "$work/job.json"), export check max |ORT − torch| = $(get job.metrics.export_max_abs_diff < "$work/job.json")"
say "version $version registered"

Step 3 "deploy: production = $version, and the update policy"
maas aliases set "$model" production "$version" --reason "first deployment"
# The world will change (y = 3x + 1): retrain on the 80 newest rows only; a challenger that passes the gate reaches
# production through a canary (half the traffic, then all of it, a second each), rolled back if its error rate rises.
maas policies set "$model" --retrain-after-rows 100 --holdout-fraction 0.2 --min-improvement 0 --training-window-rows 80 \
  --canary-steps 50,100 --bake-seconds 1 --auto-advance true --max-error-rate-increase 0.05

Step 4 "call the model through the gateway: x = 0, 1, 2, 3"
wait_served "$version"
check "gRPC default" 2 < "$work/served.json"
maas infer "$model" --rest --input "input=4,1:FP32:$probe" --output json | check "REST default" 2

Step 5 "the world changes: ingest 100 rows of y = 3x + 1 + noise(0.1)"
rows "$work/new-rows.csv" 3 2
maas data ingest "$work/new-rows.csv" --model "$model"

Step 6 "the updater retrains by itself, gates the challenger and rolls it out through a canary"
note=""
while true; do
  maas updates status "$model" --output json > "$work/status.json"
  [ "$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)["decisions"]))' < "$work/status.json")" -gt 0 ] && break
  if [ "$(get retraining < "$work/status.json")" = true ]; then now="retraining (job $(get lastJobId < "$work/status.json"))…"; else now="waiting for the decision…"; fi
  [ "$now" != "$note" ] && say "$now"
  note=$now
  out_of_time && fail "no gate decision within ${MAAS_WALKTHROUGH_TIMEOUT:-300} s"
  sleep 1
done
python3 -c 'import json,sys
d=json.load(sys.stdin)["decisions"][-1]
print("      challenger v%s %s %.4f vs champion v%s %.4f: %s — %s" % (d["challengerVersion"], d["metric"], d["challengerScore"],
      d["championVersion"], d["championScore"], "passed the gate" if d["promoted"] else "kept out", d["reason"]))' < "$work/status.json"
[ "$(get decisions.-1.promoted < "$work/status.json")" = true ] || fail "the challenger did not pass the gate"
challenger=$(get decisions.-1.challengerVersion < "$work/status.json")
while true; do
  # NotFound until the rollout starts.
  if maas rollouts get "$model" --output json > "$work/rollout.json" 2> /dev/null &&
     [ "$(get rollout.challengerVersion < "$work/rollout.json")" = "$challenger" ] &&
     [[ "$(get rollout.state < "$work/rollout.json")" =~ ^(completed|rolled_back|aborted)$ ]]; then
    break
  fi
  out_of_time && fail "the rollout of v$challenger did not end within ${MAAS_WALKTHROUGH_TIMEOUT:-300} s"
  sleep 0.5
done
maas timeline "$model"
state=$(get rollout.state < "$work/rollout.json")
[ "$state" = completed ] || fail "the rollout ended $state: $(get rollout.reason < "$work/rollout.json")"
say "rollout of v$challenger completed: production = $challenger"

Step 7 "the same calls now answer from the new version; version 1 still answers when pinned"
wait_served "$challenger"
check "gRPC default" 3 < "$work/served.json"
maas infer "$model" --rest --input "input=4,1:FP32:$probe" --output json | check "REST default" 3
maas infer "$model" --version "$version" --input "input=4,1:FP32:$probe" --output json | check "gRPC --version $version" 2
maas infer "$model" --version "$version" --rest --input "input=4,1:FP32:$probe" --output json | check "REST --version $version" 2

echo
echo "walkthrough complete: train → register → deploy → serve → update, all through the gateway"
