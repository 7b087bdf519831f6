#!/usr/bin/env bash
# Runs the sharded sync, waits for it to complete or fail, then merges the
# shards' reports. Exits with the merge's exit code: 0 all delivered,
# 3 some rows rejected, 1 a shard failed, 2 a configuration error.
set -euo pipefail
cd "$(dirname "$0")"

job=talonsync-catalog-42

# wait_done JOB: until the Job is Complete or Failed (an Indexed Job fails
# once an index has used up its retries).
wait_done() {
  local state
  while :; do
    state=$(kubectl get job "$1" -o jsonpath='{.status.conditions[?(@.status=="True")].type}')
    case " $state " in
      *" Complete "* | *" Failed "*) return ;;
    esac
    sleep 10
  done
}

kubectl apply -f serviceaccount.yaml -f configmap.yaml -f secret.yaml
kubectl delete job "$job" "$job-merge" --ignore-not-found
kubectl apply -f job.yaml
wait_done "$job"

kubectl apply -f merge-job.yaml
wait_done "$job-merge"
kubectl logs "job/$job-merge"
code=$(kubectl get pods -l job-name="$job-merge" \
  -o jsonpath='{.items[0].status.containerStatuses[0].state.terminated.exitCode}')
echo "talonsync: merged outcome exit code ${code:-unknown}"
exit "${code:-1}"
