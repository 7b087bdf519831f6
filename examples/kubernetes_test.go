package examples

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/talonsync/talonsync/internal/shard"
)

// k8sObjects are the decoded manifests of examples/kubernetes, by kind.
type k8sObjects struct {
	jobs            []*batchv1.Job
	secrets         []*corev1.Secret
	configMaps      []*corev1.ConfigMap
	serviceAccounts []*corev1.ServiceAccount
}

var docSeparator = regexp.MustCompile(`(?m)^---\s*$`)

// decodeStrict decodes one manifest into its Kubernetes API type. Unknown
// or duplicate fields, wrong types and unknown kinds are errors.
func decodeStrict(doc []byte, objs *k8sObjects) error {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return err
	}
	var into any
	switch tm.APIVersion + " " + tm.Kind {
	case "batch/v1 Job":
		j := &batchv1.Job{}
		objs.jobs, into = append(objs.jobs, j), j
	case "v1 Secret":
		s := &corev1.Secret{}
		objs.secrets, into = append(objs.secrets, s), s
	case "v1 ConfigMap":
		c := &corev1.ConfigMap{}
		objs.configMaps, into = append(objs.configMaps, c), c
	case "v1 ServiceAccount":
		s := &corev1.ServiceAccount{}
		objs.serviceAccounts, into = append(objs.serviceAccounts, s), s
	default:
		return fmt.Errorf("unexpected kind %q %q", tm.APIVersion, tm.Kind)
	}
	return yaml.UnmarshalStrict(doc, into)
}

func loadKubernetes(t *testing.T) *k8sObjects {
	t.Helper()
	files, err := filepath.Glob("kubernetes/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	objs := &k8sObjects{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, doc := range docSeparator.Split(string(b), -1) {
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			require.NoError(t, decodeStrict([]byte(doc), objs), f)
		}
	}
	return objs
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// kubernetesCommands returns the command line of every container in the
// Kubernetes examples, command then args, for a check of their flags.
func kubernetesCommands(t *testing.T) map[string][]string {
	cmds := map[string][]string{}
	for _, j := range loadKubernetes(t).jobs {
		for _, c := range j.Spec.Template.Spec.Containers {
			cmds[j.Name+"/"+c.Name] = append(append([]string{}, c.Command...), c.Args...)
		}
	}
	return cmds
}

// flagValue returns the value of --name=value in argv. The examples write
// every flag that takes a value that way, so that argv reads unambiguously
// without the CLI's flag definitions.
func flagValue(argv []string, name string) (string, bool) {
	for _, a := range argv {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// positional returns the arguments that are not flags.
func positional(argv []string) []string {
	var out []string
	for _, a := range argv {
		if !strings.HasPrefix(a, "-") {
			out = append(out, a)
		}
	}
	return out
}

func TestStrictDecodingRefusesTypos(t *testing.T) {
	cases := []struct{ name, doc, msg string }{
		{"unknown field", "apiVersion: batch/v1\nkind: Job\nspec:\n  completionMod: Indexed\n", `unknown field "completionMod"`},
		{"wrong type", "apiVersion: batch/v1\nkind: Job\nspec:\n  completions: four\n", "cannot unmarshal"},
		{"duplicate field", "apiVersion: v1\nkind: Secret\ntype: Opaque\ntype: Opaque\n", `key "type" already set`},
		{"unknown kind", "apiVersion: batch/v1\nkind: CronJobb\n", "unexpected kind"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.ErrorContains(t, decodeStrict([]byte(tc.doc), &k8sObjects{}), tc.msg)
		})
	}
}

func TestKubernetesExample(t *testing.T) {
	objs := loadKubernetes(t)
	require.Len(t, objs.jobs, 2)
	require.Len(t, objs.secrets, 1)
	require.Len(t, objs.configMaps, 1)
	require.Len(t, objs.serviceAccounts, 1)
	var sync, merge *batchv1.Job
	for _, j := range objs.jobs {
		if j.Spec.CompletionMode != nil && *j.Spec.CompletionMode == batchv1.IndexedCompletion {
			sync = j
		} else {
			merge = j
		}
	}
	require.NotNil(t, sync, "an Indexed Job")
	require.NotNil(t, merge, "a merge Job")

	spec := sync.Spec
	require.NotNil(t, spec.Completions)
	require.NotNil(t, spec.Parallelism)
	require.NotNil(t, spec.BackoffLimitPerIndex, "each shard retries on its own")
	assert.Equal(t, *spec.Completions, *spec.Parallelism)
	pod := spec.Template.Spec
	assert.Equal(t, corev1.RestartPolicyNever, pod.RestartPolicy, "podFailurePolicy and backoffLimitPerIndex need Never")
	assert.Equal(t, objs.serviceAccounts[0].Name, pod.ServiceAccountName)
	require.Len(t, pod.Containers, 1)
	c := pod.Containers[0]
	argv := append(append([]string{}, c.Command...), c.Args...)
	require.Equal(t, "talonsync", argv[0])

	// --shard auto/N with N = completions, and every index a valid shard.
	v, ok := flagValue(argv, "shard")
	require.True(t, ok, "--shard")
	n := int(*spec.Completions)
	assert.Equal(t, fmt.Sprintf("auto/%d", n), v)
	for i := range n {
		s, err := shard.Parse(v, func(k string) string {
			if k == shard.EnvJobCompletionIndex {
				return fmt.Sprint(i)
			}
			return ""
		})
		require.NoError(t, err)
		assert.Equal(t, i, s.Index)
	}

	// Each shard's outputs are its own objects in the bucket.
	s := shard.Spec{Index: 0, Count: n}
	for _, f := range []string{"checkpoint", "state", "rejects", "report"} {
		p, ok := flagValue(argv, f)
		require.True(t, ok, "--"+f)
		assert.NoError(t, s.CheckPath("--"+f, p, true))
		assert.Regexp(t, `^(s3|gs)://`, p, "--%s is in the bucket", f)
	}
	in := positional(argv[1:])
	require.Len(t, in, 2, "the entity and one input")
	assert.Regexp(t, `^(s3|gs)://`, in[1])

	// The API key is a file from the Secret.
	keyFile, ok := flagValue(argv, "api-key-file")
	require.True(t, ok)
	secretVolumes := map[string]string{}
	for _, vol := range pod.Volumes {
		if vol.Secret != nil {
			secretVolumes[vol.Name] = vol.Secret.SecretName
		}
	}
	mounted := false
	for _, m := range c.VolumeMounts {
		if name, ok := secretVolumes[m.Name]; ok && strings.HasPrefix(keyFile, m.MountPath+"/") {
			assert.Equal(t, objs.secrets[0].Name, name)
			assert.Contains(t, objs.secrets[0].StringData, filepath.Base(keyFile))
			assert.True(t, m.ReadOnly)
			mounted = true
		}
	}
	assert.True(t, mounted, "--api-key-file %s is in a mounted Secret", keyFile)
	for _, e := range c.Env {
		assert.NotEqual(t, "TALON_API_KEY", e.Name, "the key goes in a file, not the environment")
	}
	require.Len(t, c.EnvFrom, 1)
	assert.Equal(t, objs.configMaps[0].Name, c.EnvFrom[0].ConfigMapRef.Name)
	assert.Contains(t, objs.configMaps[0].Data, "TALON_BASE_URL")

	// The merge reads every shard's report.
	mc := merge.Spec.Template.Spec.Containers[0]
	margv := append(append([]string{}, mc.Command...), mc.Args...)
	require.GreaterOrEqual(t, len(margv), 3)
	assert.Equal(t, []string{"talonsync", "report", "merge"}, margv[:3])
	report, _ := flagValue(argv, "report")
	var want []string
	for i := range n {
		want = append(want, shard.Spec{Index: i, Count: n}.Expand(report))
	}
	assert.Equal(t, want, margv[3:])
}

func TestKubernetesRunScriptParses(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	out, err := exec.Command(bash, "-n", "kubernetes/run.sh").CombinedOutput()
	assert.NoError(t, err, string(out))
}

func TestKubernetesCommands(t *testing.T) {
	cmds := kubernetesCommands(t)
	assert.Len(t, cmds, 2)
	for name, argv := range cmds {
		assert.Equal(t, "talonsync", argv[0], name)
		for _, a := range argv[1:] {
			if strings.HasPrefix(a, "--") && !strings.Contains(a, "=") {
				assert.Contains(t, []string{"--prune", "--mirror", "--dry-run", "--restart", "--allow-bulk"}, a,
					"%s: a flag with a value is written --flag=value", name)
			}
		}
	}
}
