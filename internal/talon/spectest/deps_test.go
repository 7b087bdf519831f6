package spectest

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBinaryDoesNotLinkKinOpenAPI guards the rule that spectest, and so
// kin-openapi, is imported by tests only.
func TestBinaryDoesNotLinkKinOpenAPI(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	out, err := exec.Command(goBin, "list", "-deps", "github.com/talonsync/talonsync/cmd/talonsync").CombinedOutput()
	require.NoError(t, err, "%s", out)
	deps := string(out)
	require.Contains(t, deps, "github.com/talonsync/talonsync/internal/talon\n", "the listing names the binary's packages")
	assert.NotContains(t, deps, "getkin/kin-openapi")
	assert.False(t, strings.Contains(deps, "internal/talon/spectest"), "spectest is for _test.go files only")
}
