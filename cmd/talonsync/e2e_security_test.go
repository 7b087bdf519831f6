package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// The security tests run every command and failure path with a key that is
// easy to recognise, then search everything the run left behind for it.

const leakKey = "tk-LEAKCHECK-9f8e7d"

// secNeedles are the strings that must never show: the key and its
// distinctive middle, which a partial leak would still carry.
var secNeedles = []string{leakKey, "LEAKCHECK"}

// secAssertClean fails if any needle is in one of the texts or in any file
// under dir.
func secAssertClean(t *testing.T, dir string, texts map[string]string) {
	t.Helper()
	for name, s := range texts {
		for _, n := range secNeedles {
			assert.NotContains(t, s, n, "the key leaked into %s", name)
		}
	}
	if dir == "" {
		return
	}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, n := range secNeedles {
			assert.NotContains(t, string(b), n, "the key leaked into %s", p)
		}
		return nil
	}))
}

// secAssertPrivate checks that each existing file has mode 0600: they may
// hold customer data.
func secAssertPrivate(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		st, err := os.Stat(p)
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "mode of %s", p)
	}
}

// secInputs are small valid inputs of each entity.
var secInputs = map[string]struct{ name, content string }{
	"catalog":   {"products.csv", "sku,product,price,Color\nS1,Beans,1.5,brown\nS2,Tea,2,green\n"},
	"profiles":  {"profiles.csv", "integrationId,Age:number,Name\nc1,30,Ann\nc2,31,Bob\n"},
	"audiences": {"members.jsonl", `{"profileIntegrationId":"c1","audienceId":1,"action":"add"}` + "\n" + `{"profileIntegrationId":"c2","audienceId":2}` + "\n"},
}

// secEcho answers every API request with status and an error body that
// echoes the request's Authorization header, as a careless proxy might.
func secEcho(status int) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"StatusCode":%d,"Message":"refused Authorization: %s","Errors":[{"Title":"bad header %s","Details":"%s","Source":{"Parameter":"%s"}}],"RequestID":"r"}`,
			status, auth, auth, auth, auth)
	}))
	return srv
}

// secFlaky proxies to url after answering the first n requests 503 with an
// error body that echoes the Authorization header.
func secFlaky(t *testing.T, url string, n int) string {
	var mu sync.Mutex
	echo := secEcho(http.StatusServiceUnavailable)
	t.Cleanup(echo.Close)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n--
		fail := n >= 0
		mu.Unlock()
		target := url
		if fail {
			target = echo.URL
		}
		req, err := http.NewRequestWithContext(r.Context(), r.Method, target+r.URL.RequestURI(), r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		req.Header = r.Header.Clone()
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestSecurityKeyNeverShown(t *testing.T) {
	echo403 := secEcho(http.StatusForbidden)
	t.Cleanup(echo403.Close)
	echo400 := secEcho(http.StatusBadRequest)
	t.Cleanup(echo400.Close)

	tests := []struct {
		name   string
		entity string
		opts   emulator.Options
		url    string // instead of the emulator
		// flaky answers the first flaky requests 503 with the Authorization
		// header echoed in the body, then passes them to the emulator.
		flaky int
		extra []string
		// keyFile puts the key in a file with this mode instead of the environment.
		keyFile  os.FileMode
		noCkpt   bool
		wantCode int
		wantErr  string
	}{
		{name: "catalog ok", entity: "catalog", extra: []string{"--catalog-id", "1"}},
		{name: "profiles ok", entity: "profiles"},
		{name: "audiences ok", entity: "audiences"},
		{name: "dry run", entity: "profiles", extra: []string{"--dry-run"}, noCkpt: true, wantErr: "dry run"},
		{name: "401 from another key", entity: "profiles", opts: emulator.Options{APIKey: "some-other-key"},
			wantCode: exitFailed, wantErr: "refused the key"},
		{name: "403 echoing the header", entity: "profiles", url: echo403.URL, wantCode: exitFailed, wantErr: "403"},
		{name: "400 echoing the header", entity: "profiles", url: echo400.URL, wantCode: exitRejected, wantErr: "rejected"},
		{name: "400 rejects from the emulator", entity: "profiles",
			opts:     emulator.Options{Schema: emulator.Schema{emulator.SchemaProfiles: {"Age": "string", "Name": "number"}}},
			wantCode: exitRejected, wantErr: "rejected"},
		{name: "json logs, verbose retries", entity: "catalog", flaky: 2,
			extra: []string{"--catalog-id", "1", "--log-format", "json", "-v", "--batch-size", "1"}, wantErr: `"msg":"retrying"`},
		{name: "text logs, verbose retries", entity: "profiles", flaky: 1, extra: []string{"-v"}, wantErr: "retrying"},
		{name: "key file readable by others", entity: "profiles", keyFile: 0o644, wantErr: "readable by other users"},
		{name: "key file", entity: "audiences", keyFile: 0o600},
		{name: "allow insecure http", entity: "profiles", extra: []string{"--allow-insecure-http"}, wantErr: "warning: --allow-insecure-http"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := tc.url
			if url == "" {
				opts := tc.opts
				if opts.APIKey == "" {
					opts.APIKey = leakKey
				}
				url = startEmulator(t, opts).URL()
				if tc.flaky > 0 {
					url = secFlaky(t, url, tc.flaky)
				}
			}
			dir := t.TempDir()
			in := writeFile(t, dir, secInputs[tc.entity].name, secInputs[tc.entity].content)
			ckpt := filepath.Join(dir, "run.ckpt")
			rejects := filepath.Join(dir, "rejects.jsonl")
			rep := filepath.Join(dir, "report.json")
			args := append([]string{tc.entity, "--report", rep, "--rejects", rejects, "--max-retries", "2"}, tc.extra...)
			if !tc.noCkpt {
				args = append(args, "--checkpoint", ckpt)
			}
			key := leakKey
			if tc.keyFile != 0 {
				kf := writeFile(t, dir, "key", leakKey+"\n")
				require.NoError(t, os.Chmod(kf, tc.keyFile))
				args, key = append(args, "--api-key-file", kf), ""
			}
			res := runCLI(t, url, key, cli{args: append(args, in)})
			assert.Equal(t, tc.wantCode, res.Code, res.Stderr)
			assert.Contains(t, res.Stderr, tc.wantErr)
			r := readReport(t, rep)
			assert.Equal(t, r.Read, r.accounted())
			// The key file itself holds the key: take it out of the search.
			require.NoError(t, os.RemoveAll(filepath.Join(dir, "key")))
			secAssertClean(t, dir, map[string]string{"stdout": res.Stdout, "stderr": res.Stderr, "report error": r.Error})
			secAssertPrivate(t, rejects, ckpt, ckpt+".lock")
			if tc.wantCode == exitRejected {
				assert.NotEmpty(t, readRejects(t, rejects))
			}
		})
	}
}

// TestSecurityInsecureURLRefused checks that http:// to a host that is not
// loopback is refused before any connection: 10.255.255.1 is not routed, so
// a dial would hang for the 10 s dial timeout instead of failing at once.
func TestSecurityInsecureURLRefused(t *testing.T) {
	for _, url := range []string{"http://10.255.255.1", "http://10.255.255.1:8080/api", "http://example.invalid"} {
		t.Run(url, func(t *testing.T) {
			dir := t.TempDir()
			in := writeFile(t, dir, "p.csv", secInputs["profiles"].content)
			start := time.Now()
			res := runCLI(t, url, leakKey, cli{args: []string{"profiles", "--checkpoint", filepath.Join(dir, "c.ckpt"), in}})
			assert.Equal(t, exitUsage, res.Code, res.Stderr)
			assert.Contains(t, res.Stderr, "http")
			assert.Contains(t, res.Stderr, "non-loopback")
			assert.Less(t, time.Since(start), slow(5*time.Second), "refused before any connection")
			secAssertClean(t, dir, map[string]string{"stdout": res.Stdout, "stderr": res.Stderr})
		})
	}
}

// TestSecurityInterrupted stops a checkpointed run with SIGINT in the middle
// and searches its outputs, checkpoint and lock file for the key.
func TestSecurityInterrupted(t *testing.T) {
	srv := startEmulator(t, emulator.Options{APIKey: leakKey, Faults: emulator.Faults{Latency: 50 * time.Millisecond}})
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("integrationId,Age:number\n")
	for i := range 2000 {
		fmt.Fprintf(&b, "c%d,%d\n", i, i%90)
	}
	in := writeFile(t, dir, "p.csv", b.String())
	ckpt := filepath.Join(dir, "p.ckpt")
	rejects := filepath.Join(dir, "p.rejects.jsonl")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd, out, errOut := cli{args: []string{"profiles", "--batch-size", "10", "--workers", "2", "--checkpoint", ckpt,
		"--rejects", rejects, "--grace", "5s", in}}.command(ctx, srv.URL(), leakKey)
	require.NoError(t, cmd.Start())
	secWaitApplied(t, srv, 50)
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	err := cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "stderr: %s", errOut)
	assert.Equal(t, exitInterrupted, ee.ExitCode(), errOut.String())
	assert.Contains(t, errOut.String(), "interrupted")
	require.FileExists(t, ckpt)
	secAssertClean(t, dir, map[string]string{"stdout": out.String(), "stderr": errOut.String()})
	secAssertPrivate(t, ckpt, ckpt+".lock", rejects)
}

func secWaitApplied(t *testing.T, srv *emulator.Server, n int64) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for srv.Stats().ItemsApplied < n {
		require.True(t, time.Now().Before(deadline), "the emulator never applied %d items", n)
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSecurityEmulatorAndDemo runs the emulator and demo commands with the
// key in the environment: neither may print it, and the emulator's state
// file, which holds customer profiles, has mode 0600.
func TestSecurityEmulatorAndDemo(t *testing.T) {
	t.Run("emulator", func(t *testing.T) {
		dir := t.TempDir()
		state := filepath.Join(dir, "state.json")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, talonsyncBin, "emulator", "--addr", "127.0.0.1:0", "--api-key", "emu-test-key", "--state", state, "--seed", "1")
		cmd.Env = append(os.Environ(), "TALON_API_KEY="+leakKey)
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		var errOut bytes.Buffer
		cmd.Stderr = &errOut
		require.NoError(t, cmd.Start())
		sc := bufio.NewScanner(stdout)
		require.True(t, sc.Scan(), "no listening line; stderr: %s", &errOut)
		first := sc.Text()
		var url string
		for _, f := range strings.Fields(first) {
			if strings.HasPrefix(f, "http://") {
				url = f
			}
		}
		require.NotEmpty(t, url, first)
		var rest bytes.Buffer
		copied := make(chan struct{})
		go func() { defer close(copied); _, _ = io.Copy(&rest, stdout) }()

		in := writeFile(t, dir, "p.csv", secInputs["profiles"].content)
		res := runCLI(t, url, "emu-test-key", cli{args: []string{"profiles", in}})
		require.Equal(t, exitOK, res.Code, res.Stderr)
		require.NoError(t, cmd.Process.Signal(os.Interrupt))
		<-copied
		require.NoError(t, cmd.Wait(), errOut.String())
		secAssertClean(t, dir, map[string]string{"emulator stdout": first + rest.String(), "emulator stderr": errOut.String()})
		require.FileExists(t, state)
		secAssertPrivate(t, state)
		b, err := os.ReadFile(state)
		require.NoError(t, err)
		assert.Contains(t, string(b), `"c2"`, "the state file holds the synced profiles")
	})
	t.Run("demo", func(t *testing.T) {
		res := runCLI(t, "", leakKey, cli{args: []string{"demo"}, dir: t.TempDir()})
		require.Equal(t, exitOK, res.Code, res.Stderr)
		assert.Contains(t, res.Stdout, "The emulator now holds")
		secAssertClean(t, "", map[string]string{"stdout": res.Stdout, "stderr": res.Stderr})
	})
}

// TestSecurityNoTLSBypassFlag walks the flags of every command: the only
// flag about transport security is --allow-insecure-http, and every sending
// run with it prints a WARNING.
func TestSecurityNoTLSBypassFlag(t *testing.T) {
	io, _, _ := TestIO("")
	root := newRootCmd(&env{io: io, getenv: func(string) string { return "" }})
	var found []string
	cmds := append(root.Commands(), root)
	for _, c := range cmds {
		visit := func(f *pflag.Flag) {
			n := strings.ToLower(f.Name + " " + f.Shorthand)
			if strings.Contains(n, "insecure") || strings.Contains(n, "tls") || strings.Contains(n, "verify") ||
				strings.Contains(n, "skip") || strings.Contains(n, "cert") {
				found = append(found, c.Name()+" --"+f.Name)
			}
		}
		c.Flags().VisitAll(visit)
		c.PersistentFlags().VisitAll(visit)
		c.InheritedFlags().VisitAll(visit)
	}
	assert.ElementsMatch(t, []string{"catalog --allow-insecure-http", "profiles --allow-insecure-http", "audiences --allow-insecure-http", "retry --allow-insecure-http"}, found)

	srv := startEmulator(t, emulator.Options{APIKey: leakKey})
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "c.ckpt")
	for i, entity := range []string{"catalog", "profiles", "audiences", "audiences"} {
		in := writeFile(t, dir, secInputs[entity].name, secInputs[entity].content)
		args := []string{entity, "--allow-insecure-http", "--checkpoint", ckpt + entity, in}
		if entity == "catalog" {
			args = append(args, "--catalog-id", "1")
		}
		// The last run finds a completed checkpoint: it sends nothing, and still warns.
		res := runCLI(t, srv.URL(), leakKey, cli{args: args})
		require.Equal(t, exitOK, res.Code, res.Stderr)
		assert.Contains(t, res.Stderr, "warning: --allow-insecure-http", "run %d (%s)", i, entity)
		secAssertClean(t, "", map[string]string{"stderr": res.Stderr, "stdout": res.Stdout})
	}
}

// TestSecurityRedirectDropsKey makes the API answer 307 to another host:
// the request that follows must not carry the key.
func TestSecurityRedirectDropsKey(t *testing.T) {
	var mu sync.Mutex
	var seen []http.Header
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer other.Close()
	for _, target := range []string{other.URL, strings.Replace(other.URL, "127.0.0.1", "localhost", 1)} {
		t.Run(target, func(t *testing.T) {
			mu.Lock()
			seen = nil
			mu.Unlock()
			var apiAuth []string
			api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				apiAuth = append(apiAuth, r.Header.Get("Authorization"))
				mu.Unlock()
				http.Redirect(w, r, target+r.URL.RequestURI(), http.StatusTemporaryRedirect)
			}))
			defer api.Close()
			dir := t.TempDir()
			in := writeFile(t, dir, "p.csv", secInputs["profiles"].content)
			res := runCLI(t, api.URL, leakKey, cli{args: []string{"profiles", "--max-retries", "0", in}})
			assert.Equal(t, exitOK, res.Code, res.Stderr)
			mu.Lock()
			defer mu.Unlock()
			require.NotEmpty(t, apiAuth)
			assert.Equal(t, "ApiKey-v1 "+leakKey, apiAuth[0], "the API itself gets the key")
			require.NotEmpty(t, seen, "the redirect was followed")
			for _, h := range seen {
				assert.Empty(t, h.Values("Authorization"))
				for name, vs := range h {
					for _, v := range vs {
						assert.NotContains(t, v, "LEAKCHECK", "header %s", name)
					}
				}
			}
			secAssertClean(t, dir, map[string]string{"stdout": res.Stdout, "stderr": res.Stderr})
		})
	}
}

// TestSecurityHugeErrorBody answers 400 with a 50 MB body: the CLI reads a
// bounded prefix, so it finishes quickly and its memory stays small.
func TestSecurityHugeErrorBody(t *testing.T) {
	chunk := bytes.Repeat([]byte("x"+leakKey+" "), 64<<10/(len(leakKey)+2))
	var written sync.Map
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", fmt.Sprint(50<<20))
		w.WriteHeader(http.StatusBadRequest)
		n := 0
		for n < 50<<20 {
			m, err := w.Write(chunk[:min(len(chunk), 50<<20-n)])
			n += m
			if err != nil {
				break
			}
		}
		written.Store(r, n)
	}))
	defer srv.Close()
	dir := t.TempDir()
	in := writeFile(t, dir, "p.csv", secInputs["profiles"].content)
	rejects := filepath.Join(dir, "rejects.jsonl")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep := filepath.Join(dir, "report.json")
	cmd, out, errOut := cli{args: []string{"profiles", "--max-retries", "0", "--rejects", rejects, "--report", rep, in}}.command(ctx, srv.URL, leakKey)
	bin := xtPlainBinary(t) // the race detector's shadow memory would dominate the RSS
	cmd.Path, cmd.Args[0] = bin, bin
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "stderr: %s", errOut)
	assert.Equal(t, exitRejected, ee.ExitCode(), errOut.String())
	assert.Less(t, elapsed, slow(5*time.Second))
	// The report's own peak (VmHWM): a vforked child's rusage carries the
	// test's high-water mark.
	rss := readReport(t, rep).PeakRSSBytes
	require.Positive(t, rss)
	t.Logf("huge error body: %v, max RSS %d MB", elapsed, rss>>20)
	assert.Less(t, rss, int64(200<<20), "max RSS")
	rej := readRejects(t, rejects)
	assert.Len(t, rej, 2, "each row rejected alone")
	for _, r := range rej {
		assert.Less(t, len(fmt.Sprint(r["error"])), 4096, "the error message is bounded")
	}
	secAssertClean(t, dir, map[string]string{"stdout": out.String(), "stderr": errOut.String()})
}
