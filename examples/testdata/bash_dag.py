# A DAG in the BashOperator style, for the extractor's own test.
from airflow import DAG
from airflow.operators.bash import BashOperator

N = 2
BASE = "gs://bkt/talonsync"
CMD = "talonsync profiles --shard=auto/" + str(N) + f" --checkpoint={BASE}/p-{{shard}}.ckpt 'gs://bkt/in dir/profiles.jsonl'"

with DAG(dag_id="bash_style") as dag:
    sync = BashOperator.partial(task_id="sync", bash_command=CMD).expand(
        env=[{"TALONSYNC_SHARD_INDEX": str(i)} for i in range(N)]
    )
    other = BashOperator(task_id="not_talonsync", bash_command="echo hello")
    merge = BashOperator(task_id="merge", bash_command="talonsync report merge " + BASE + "/r-0.json " + BASE + "/r-1.json", trigger_rule="all_done")
