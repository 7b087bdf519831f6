package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startEmulatorCLI runs `talonsync emulator` with args on a free port and
// returns its URL; it is stopped when the test ends.
func startEmulatorCLI(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	cmd := exec.CommandContext(ctx, talonsyncBin, append([]string{"emulator", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		cancel()
	})
	sc := bufio.NewScanner(stdout)
	require.True(t, sc.Scan(), "no listening line; stderr: %s", &errOut)
	for _, f := range strings.Fields(sc.Text()) {
		if strings.HasPrefix(f, "http://") {
			go func() {
				_ = sc.Err()
				for sc.Scan() {
				}
			}()
			return f
		}
	}
	t.Fatalf("no URL in %q", sc.Text())
	return ""
}

func putProfile(t *testing.T, url, id string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url+"/v2/customer_profiles", strings.NewReader(`{"customerProfiles":[{"integrationId":"`+id+`"}]}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "ApiKey-v1 emulator-key")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return resp
}

// TestEmulatorRateLimitFlags: --rate-limit and --burst limit the emulator,
// its 429s carry a whole-second Retry-After unless --no-retry-after, and
// its stats count them.
func TestEmulatorRateLimitFlags(t *testing.T) {
	for _, tc := range []struct {
		name           string
		args           []string
		wantRetryAfter string
	}{
		{"retry-after", []string{"--rate-limit", "0.5", "--burst", "2"}, "2"},
		{"no retry-after", []string{"--rate-limit", "0.5", "--burst", "2", "--no-retry-after"}, ""},
		{"with capacity and discard", []string{"--rate-limit", "0.5", "--burst", "2", "--capacity", "1", "--discard"}, "2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := startEmulatorCLI(t, tc.args...)
			assert.Equal(t, 204, putProfile(t, url, "a").StatusCode)
			assert.Equal(t, 204, putProfile(t, url, "b").StatusCode)
			resp := putProfile(t, url, "c")
			assert.Equal(t, 429, resp.StatusCode)
			assert.Equal(t, tc.wantRetryAfter, resp.Header.Get("Retry-After"))
			st, err := http.Get(url + "/emulator/stats")
			require.NoError(t, err)
			defer st.Body.Close()
			var stats struct {
				RateLimited int64 `json:"rate_limited"`
			}
			require.NoError(t, json.NewDecoder(st.Body).Decode(&stats))
			assert.Equal(t, int64(1), stats.RateLimited)
		})
	}
}

func TestEmulatorLimitFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--rate-limit", "-1"},
		{"--burst", "0"},
		{"--capacity", "-1"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			res := runCLI(t, "", "", cli{args: append([]string{"emulator", "--addr", "127.0.0.1:0"}, args...)})
			assert.Equal(t, exitUsage, res.Code, res.Stderr)
			assert.Contains(t, res.Stderr, args[0])
		})
	}
}
