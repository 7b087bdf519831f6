"""Nightly catalog sync with talonsync, in 4 shards, on Kubernetes pods.

One mapped task per shard (dynamic task mapping): the shard with map index I
runs `talonsync catalog --shard auto/4`, and talonsync reads I from
$TALONSYNC_SHARD_INDEX, which each mapped task sets from {{ ti.map_index }}.
Every shard reads the whole export and sends only the SKUs that hash to it;
its checkpoint, state, rejects and report are its own objects in the bucket
({shard} in a path becomes I). An Airflow retry of one shard reruns that shard
alone, and it resumes from its last uploaded checkpoint. Once every shard
has finished, succeeded or not, `talonsync report merge` sums their reports
and exits with the worst outcome, so the DAG run fails if any shard did.

Needs apache-airflow-providers-cncf-kubernetes. The pods use the Kubernetes
service account "talonsync" for the bucket (see examples/kubernetes) and the
Secret "talonsync-api-key" for the API key.
"""

from __future__ import annotations

import pendulum
from airflow import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.secret import Secret

SHARDS = 4
IMAGE = "registry.example.com/talonsync:1.0.0"
CATALOG_ID = "42"
INPUT = "s3://acme-exports/catalog/products-latest.csv.gz"
PREFIX = "s3://acme-talonsync"
# The reports of one DAG run sit together, so that the merge reads this
# run's and no other's.
REPORTS = PREFIX + "/reports/catalog-42/{{ ds_nodash }}"

SYNC_ARGS = [
    "catalog",
    f"--catalog-id={CATALOG_ID}",
    f"--shard=auto/{SHARDS}",
    "--api-key-file=/run/secrets/talon/api-key",
    f"--state={PREFIX}/state/catalog-42/shard-{{shard}}.state",
    "--prune",
    f"--checkpoint={PREFIX}/checkpoints/catalog-42/shard-{{shard}}.ckpt",
    f"--rejects={PREFIX}/rejects/catalog-42/shard-{{shard}}.jsonl",
    f"--report={REPORTS}/shard-{{shard}}.json",
    # A cap for all shards together: each takes 40/SHARDS requests/s.
    "--rate=40",
    "--log-format=json",
    INPUT,
]

MERGE_ARGS = ["report", "merge"] + [f"{REPORTS}/shard-{i}.json" for i in range(SHARDS)]

ENV = {
    "TALON_BASE_URL": "https://mycompany.europe-west1.talon.one",
    "AWS_REGION": "eu-west-1",
}

API_KEY = Secret(
    deploy_type="volume",
    deploy_target="/run/secrets/talon",
    secret="talonsync-api-key",
)

with DAG(
    dag_id="talonsync_catalog_42",
    schedule="30 2 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # two runs would compete for the shards' checkpoints
    tags=["talonsync"],
) as dag:
    shards = KubernetesPodOperator.partial(
        task_id="sync_shard",
        name="talonsync-shard",
        image=IMAGE,
        cmds=["talonsync"],
        arguments=SYNC_ARGS,
        env_vars={**ENV, "TALONSYNC_SHARD_INDEX": "{{ ti.map_index }}"},
        secrets=[API_KEY],
        service_account_name="talonsync",
        retries=3,
        retry_delay=pendulum.duration(minutes=1),
        termination_grace_period=60,
        get_logs=True,
        on_finish_action="delete_succeeded_pod",
    ).expand(labels=[{"talonsync-shard": str(i)} for i in range(SHARDS)])

    merge = KubernetesPodOperator(
        task_id="merge_reports",
        name="talonsync-merge",
        image=IMAGE,
        cmds=["talonsync"],
        arguments=MERGE_ARGS,
        env_vars=ENV,
        service_account_name="talonsync",
        trigger_rule="all_done",  # merge whatever the shards did
        get_logs=True,
        on_finish_action="delete_pod",
    )

    shards >> merge
