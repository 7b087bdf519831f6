from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

op = KubernetesPodOperator(task_id="x", cmds=["talonsync"], arguments=compute_args())
