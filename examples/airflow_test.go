package examples

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/shard"
)

const airflowDAG = "airflow/talonsync_catalog.py"

// airflowTask is one talonsync command an Airflow DAG runs, as
// testdata/extract_airflow_commands.py prints it.
type airflowTask struct {
	Operator    string            `json:"operator"`
	TaskID      string            `json:"task_id"`
	Argv        []string          `json:"argv"`
	Env         map[string]string `json:"env"`
	MappedOver  *int              `json:"mapped_over"`
	TriggerRule *string           `json:"trigger_rule"`
	Line        int               `json:"line"`
}

func python(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: the Airflow DAG is not checked")
	}
	return p
}

// airflowCommands returns the talonsync commands of a DAG file, read from
// its syntax tree without importing Airflow.
func airflowCommands(t *testing.T, dag string) []airflowTask {
	t.Helper()
	out, err := exec.Command(python(t), "testdata/extract_airflow_commands.py", dag).Output()
	if ee, ok := err.(*exec.ExitError); ok {
		t.Fatalf("extract %s: %v: %s", dag, err, ee.Stderr)
	}
	require.NoError(t, err)
	var tasks []airflowTask
	require.NoError(t, json.Unmarshal(out, &tasks))
	return tasks
}

func TestAirflowDAGIsValidPython(t *testing.T) {
	out, err := exec.Command(python(t), "-c",
		"import ast, sys; src = open(sys.argv[1]).read(); ast.parse(src, sys.argv[1]); compile(src, sys.argv[1], 'exec')",
		airflowDAG).CombinedOutput()
	assert.NoError(t, err, string(out))
}

func TestAirflowExample(t *testing.T) {
	tasks := airflowCommands(t, airflowDAG)
	require.Len(t, tasks, 2)
	sync, merge := tasks[0], tasks[1]

	assert.Equal(t, "sync_shard", sync.TaskID)
	require.NotNil(t, sync.MappedOver, "one mapped task per shard")
	n := *sync.MappedOver
	v, ok := flagValue(sync.Argv, "shard")
	require.True(t, ok)
	assert.Equal(t, fmt.Sprintf("auto/%d", n), v)
	assert.Equal(t, "{{ ti.map_index }}", sync.Env[shard.EnvIndex])
	_, err := shard.Parse(v, func(k string) string {
		if k == shard.EnvIndex {
			return fmt.Sprint(n - 1) // the last map index
		}
		return ""
	})
	require.NoError(t, err)

	s := shard.Spec{Index: 0, Count: n}
	for _, f := range []string{"checkpoint", "state", "rejects", "report"} {
		p, ok := flagValue(sync.Argv, f)
		require.True(t, ok, "--"+f)
		assert.NoError(t, s.CheckPath("--"+f, p, true))
		assert.Regexp(t, `^(s3|gs)://`, p)
	}
	_, ok = flagValue(sync.Argv, "api-key-file")
	assert.True(t, ok)
	assert.NotContains(t, sync.Env, "TALON_API_KEY")

	assert.Equal(t, "merge_reports", merge.TaskID)
	assert.Nil(t, merge.MappedOver)
	require.NotNil(t, merge.TriggerRule)
	assert.Equal(t, "all_done", *merge.TriggerRule, "the merge runs when a shard failed too")
	assert.Equal(t, []string{"talonsync", "report", "merge"}, merge.Argv[:3])
	report, _ := flagValue(sync.Argv, "report")
	var want []string
	for i := range n {
		want = append(want, shard.Spec{Index: i, Count: n}.Expand(report))
	}
	assert.Equal(t, want, merge.Argv[3:])
}

func TestAirflowExtractor(t *testing.T) {
	tasks := airflowCommands(t, "testdata/bash_dag.py")
	require.Len(t, tasks, 2, "echo is not a talonsync command")
	assert.Equal(t, "BashOperator", tasks[0].Operator)
	assert.Equal(t, []string{"talonsync", "profiles", "--shard=auto/2", "--checkpoint=gs://bkt/talonsync/p-{shard}.ckpt", "gs://bkt/in dir/profiles.jsonl"}, tasks[0].Argv)
	require.NotNil(t, tasks[0].MappedOver)
	assert.Equal(t, 2, *tasks[0].MappedOver)
	assert.Equal(t, []string{"talonsync", "report", "merge", "gs://bkt/talonsync/r-0.json", "gs://bkt/talonsync/r-1.json"}, tasks[1].Argv)

	out, err := exec.Command(python(t), "testdata/extract_airflow_commands.py", "testdata/unsupported_dag.py").CombinedOutput()
	assert.Error(t, err)
	assert.Contains(t, string(out), "line 3: cannot evaluate")
}
