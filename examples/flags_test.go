package examples

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// buildCLI builds the talonsync binary of this tree.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "talonsync")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/talonsync").CombinedOutput()
	require.NoError(t, err, "build talonsync: %s", out)
	return bin
}

var commandWord = regexp.MustCompile(`^[a-z]+$`)

// checkParses runs argv (without the program name) with --help appended:
// the real CLI parses every flag and value first, and refuses an unknown
// flag or a bad value with exit 2; the help it then prints names the
// command, which catches a misspelt subcommand (the root would print its
// own help).
func checkParses(t *testing.T, bin, name string, argv []string) {
	t.Helper()
	require.NotEmpty(t, argv, name)
	usage, err := helpUsage(bin, argv)
	require.NoError(t, err, "%s: talonsync %s", name, strings.Join(argv, " "))
	assert.True(t, strings.HasPrefix(usage, "talonsync "+commandPath(argv)+" "),
		"%s: the help is of %q, not of talonsync %s", name, usage, commandPath(argv))
}

// commandPath is the subcommand argv names: its leading lowercase words.
func commandPath(argv []string) string {
	var path []string
	for _, a := range argv {
		if !commandWord.MatchString(a) {
			break
		}
		path = append(path, a)
	}
	return strings.Join(path, " ")
}

// helpUsage runs talonsync argv --help and returns the first line of the
// help's usage.
func helpUsage(bin string, argv []string) (string, error) {
	cmd := exec.Command(bin, append(append([]string{}, argv...), "--help")...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%w: %s", err, errOut.String())
	}
	_, after, _ := strings.Cut(out.String(), "Usage:\n")
	usage, _, _ := strings.Cut(strings.TrimSpace(after), "\n")
	return usage, nil
}

// TestExampleCommandsParse checks that every talonsync command line in the
// Kubernetes and Airflow examples parses with the real CLI's flags.
func TestExampleCommandsParse(t *testing.T) {
	bin := buildCLI(t)
	t.Run("kubernetes", func(t *testing.T) {
		cmds := kubernetesCommands(t)
		require.NotEmpty(t, cmds)
		for name, argv := range cmds {
			require.Equal(t, "talonsync", argv[0], name)
			checkParses(t, bin, name, argv[1:])
		}
	})
	t.Run("airflow", func(t *testing.T) {
		tasks := airflowCommands(t, airflowDAG)
		require.NotEmpty(t, tasks)
		for _, task := range tasks {
			require.Equal(t, "talonsync", task.Argv[0], task.TaskID)
			checkParses(t, bin, task.TaskID, task.Argv[1:])
		}
	})
	t.Run("the check refuses", func(t *testing.T) {
		for _, argv := range [][]string{
			{"catalog", "--catalog-id=42", "--no-such-flag", "in.csv"},
			{"catalog", "--rate=fast", "in.csv"},
		} {
			err := exec.Command(bin, append(argv, "--help")...).Run()
			assert.Error(t, err, "talonsync %v", argv)
		}
		argv := []string{"catlog", "in.csv"}
		usage, err := helpUsage(bin, argv)
		require.NoError(t, err, "the root prints its help for an unknown command")
		assert.False(t, strings.HasPrefix(usage, "talonsync "+commandPath(argv)+" "), "but not as catlog's: %q", usage)
	})
}
