package examples

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	"sigs.k8s.io/yaml"

	"github.com/talonsync/talonsync/internal/metrics"
)

// TestRetryAndMetricsExamples checks examples/retry and examples/metrics
// with the real binary: the retry session runs as its README tells, and
// every talonsync flag the metrics examples use exists.
func TestRetryAndMetricsExamples(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	bin := filepath.Join(t.TempDir(), "talonsync")
	out, err := exec.Command(goBin, "build", "-o", bin, "../cmd/talonsync").CombinedOutput()
	require.NoError(t, err, "%s", out)

	t.Run("retry session", func(t *testing.T) {
		bash, err := exec.LookPath("bash")
		if err != nil {
			t.Skip("no bash")
		}
		if _, err := exec.LookPath("curl"); err != nil {
			t.Skip("no curl")
		}
		cmd := exec.Command(bash, "retry/run.sh")
		cmd.Env = append(os.Environ(), "TALONSYNC="+bin)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		s := string(out)
		for _, want := range []string{
			"talonsync profiles: 5 read, 1 delivered, 4 rejected",
			"retrying 3 rows the API rejected",
			`line 4: column "Age:number": value "eighty" is not a number`,
			"talonsync profiles: 4 read, 3 delivered, 1 rejected",
			`"cust-0201":{"integrationId":"cust-0201","attributes":{"Age":86,"LoyaltyTier":"platinum","Name":"Grace Hopper"}}`,
		} {
			assert.Contains(t, s, want)
		}
		readme, err := os.ReadFile("retry/README.md")
		require.NoError(t, err)
		assert.Contains(t, string(readme), "retrying 3 rows the API rejected, from profiles-tier.csv.rejects.jsonl")
	})

	t.Run("flags exist", func(t *testing.T) {
		help := map[string]string{}
		flagsOf := func(command string) string {
			if h, ok := help[command]; ok {
				return h
			}
			out, err := exec.Command(bin, command, "--help").CombinedOutput()
			require.NoError(t, err, "%s", out)
			help[command] = string(out)
			return help[command]
		}
		check := func(where string, args []string) {
			require.NotEmpty(t, args, where)
			command := args[0]
			for _, a := range args[1:] {
				if !strings.HasPrefix(a, "--") {
					continue
				}
				name, _, _ := strings.Cut(a, "=")
				assert.Contains(t, flagsOf(command), "  "+name+" ", "%s: talonsync %s has no flag %s", where, command, name)
			}
		}
		b, err := os.ReadFile("metrics/crontab")
		require.NoError(t, err)
		lines := 0
		for _, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "#"))
			_, cmdline, ok := strings.Cut(line, "talonsync ")
			if !ok || strings.HasPrefix(line, "Nightly") {
				continue
			}
			cmdline, _, _ = strings.Cut(cmdline, ">>")
			check("crontab", strings.Fields(cmdline))
			lines++
		}
		assert.Equal(t, 3, lines, "the crontab's talonsync commands")

		var cj batchv1.CronJob
		b, err = os.ReadFile("metrics/cronjob.yaml")
		require.NoError(t, err)
		require.NoError(t, yaml.UnmarshalStrict(b, &cj))
		c := cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0]
		require.Equal(t, []string{"talonsync"}, c.Command)
		check("cronjob.yaml", c.Args)
		assert.Contains(t, c.Args, "--pushgateway-job=talonsync-profiles")
	})

	t.Run("alert rules", func(t *testing.T) {
		var rules struct {
			Groups []struct {
				Name  string `json:"name"`
				Rules []struct {
					Alert       string            `json:"alert"`
					Expr        string            `json:"expr"`
					For         string            `json:"for,omitempty"`
					Labels      map[string]string `json:"labels"`
					Annotations map[string]string `json:"annotations"`
				} `json:"rules"`
			} `json:"groups"`
		}
		b, err := os.ReadFile("metrics/alerts.yml")
		require.NoError(t, err)
		require.NoError(t, yaml.UnmarshalStrict(b, &rules))
		require.Len(t, rules.Groups, 1)
		names := []string{metrics.NameRows, metrics.NameRequests, metrics.NameRetries, metrics.NameDuration,
			metrics.NameExitCode, metrics.NameLastRun, metrics.NameLastSuccess}
		metricRef := regexp.MustCompile(`talonsync_[a-z_]+`)
		matcher := regexp.MustCompile(`(outcome|class)="([^"]*)"`)
		var alerts []string
		for _, r := range rules.Groups[0].Rules {
			alerts = append(alerts, r.Alert)
			refs := metricRef.FindAllString(r.Expr, -1)
			require.NotEmpty(t, refs, r.Alert)
			for _, m := range refs {
				assert.Contains(t, names, m, "%s uses a metric talonsync does not write", r.Alert)
			}
			for _, m := range matcher.FindAllStringSubmatch(r.Expr, -1) {
				values := metrics.Outcomes
				if m[1] == "class" {
					values = metrics.Classes
				}
				assert.Contains(t, values, m[2], "%s: %s", r.Alert, m[0])
			}
			assert.NotEmpty(t, r.Annotations["summary"], r.Alert)
		}
		assert.True(t, slices.Contains(alerts, "TalonsyncNoRecentSuccess"))
		stale := rules.Groups[0].Rules[0]
		assert.Equal(t, "time() - talonsync_last_success_timestamp_seconds > 26 * 3600", stale.Expr, "no success for 26 hours")
	})
}
