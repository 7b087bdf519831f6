package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// The extreme-input tests feed the real CLI inputs at the edges: each gets a
// clear error or rejected rows, in bounded memory, and nothing is dropped
// silently: read == delivered + rejected + failed, and every row not
// delivered is in the rejects file with its line.

var (
	xtPlainOnce sync.Once
	xtPlainBin  string
	xtPlainErr  error
)

// xtPlainBinary returns a talonsync binary built without the race detector,
// whose shadow memory would otherwise dominate a peak RSS measurement.
func xtPlainBinary(t *testing.T) string {
	t.Helper()
	if !raceEnabled {
		return talonsyncBin
	}
	xtPlainOnce.Do(func() {
		bin := filepath.Join(filepath.Dir(talonsyncBin), "talonsync-norace")
		out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
		if err != nil {
			xtPlainErr = fmt.Errorf("build: %v: %s", err, out)
			return
		}
		xtPlainBin = bin
	})
	require.NoError(t, xtPlainErr)
	return xtPlainBin
}

// xtRun runs the CLI built without the race detector and returns, as its
// peak RSS in bytes, the report's peak_rss_bytes. (The rusage of a child
// is no measure: started with vfork, it inherits the test's high-water mark.)
func xtRun(t *testing.T, url string, c cli) (cliResult, int64) {
	t.Helper()
	c.bin = xtPlainBinary(t)
	rep := ""
	for i, a := range c.args[:len(c.args)-1] {
		if a == "--report" {
			rep = c.args[i+1]
		}
	}
	if rep == "" {
		rep = filepath.Join(t.TempDir(), "rss-report.json")
		c.args = append([]string{c.args[0], "--report", rep}, c.args[1:]...)
	}
	res := runCLI(t, url, testKey, c)
	return res, readReport(t, rep).PeakRSSBytes
}

// xtWriteBig writes head, then size bytes of fill, then tail to a new file,
// streaming, so the test never holds the big line in memory.
func xtWriteBig(t *testing.T, dir, name, head string, fill byte, size int, tail string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	require.NoError(t, err)
	w := bufio.NewWriterSize(f, 1<<20)
	_, err = w.WriteString(head)
	require.NoError(t, err)
	chunk := bytes.Repeat([]byte{fill}, 1<<20)
	for n := 0; n < size; n += len(chunk) {
		_, err = w.Write(chunk[:min(len(chunk), size-n)])
		require.NoError(t, err)
	}
	_, err = w.WriteString(tail)
	require.NoError(t, err)
	require.NoError(t, w.Flush())
	require.NoError(t, f.Close())
	return p
}

// xtReconcile checks the report's counts and that every row not delivered
// is in the rejects file with one of wantLines.
func xtReconcile(t *testing.T, rep, rejects string, wantLines ...int) report {
	t.Helper()
	r := readReport(t, rep)
	assert.Equal(t, r.Read, r.accounted(), "every row read is accounted for")
	rej := readRejects(t, rejects)
	assert.Len(t, rej, int(r.Rejected+r.Failed), "every row not delivered is in the rejects file")
	var lines []int
	for _, x := range rej {
		l, ok := x["line"].(float64)
		require.True(t, ok, "reject without a line: %v", x)
		lines = append(lines, int(l))
		assert.NotEmpty(t, x["error"])
	}
	assert.ElementsMatch(t, wantLines, lines, "lines of the rejected rows")
	return r
}

func TestExtremeHugeLine(t *testing.T) {
	const big = 100 << 20
	tests := []struct {
		name, file, head, tail string
		wantCode               int
		wantRead, wantDeliv    int64
		wantReject             []int
		wantErr                string
	}{
		{
			name: "jsonl: the row is rejected, later rows delivered", file: "p.jsonl",
			head:     `{"integrationId":"a1"}` + "\n" + `{"integrationId":"big","attributes":{"X":"`,
			tail:     `"}}` + "\n" + `{"integrationId":"a3"}` + "\n" + `{"integrationId":"a4"}` + "\n",
			wantCode: exitRejected, wantRead: 4, wantDeliv: 3, wantReject: []int{2}, wantErr: "rejected",
		},
		{
			name: "csv: the row is rejected, later rows delivered", file: "p.csv",
			head:     "integrationId,X\na1,x\nbig,",
			tail:     "\na3,x\n",
			wantCode: exitRejected, wantRead: 3, wantDeliv: 2, wantReject: []int{3}, wantErr: "rejected",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startEmulator(t, emulator.Options{})
			dir := t.TempDir()
			in := xtWriteBig(t, dir, tc.file, tc.head, 'a', big, tc.tail)
			rep, rejects := filepath.Join(dir, "report.json"), filepath.Join(dir, "rejects.jsonl")
			start := time.Now()
			res, rss := xtRun(t, srv.URL(), cli{args: []string{"profiles", "--report", rep, "--rejects", rejects, in}})
			t.Logf("%s: exit %d in %v, max RSS %d MB", tc.file, res.Code, time.Since(start), rss>>20)
			assert.Equal(t, tc.wantCode, res.Code, res.Stderr)
			assert.Contains(t, res.Stderr, tc.wantErr)
			assert.Less(t, rss, int64(200<<20), "peak RSS")
			r := xtReconcile(t, rep, rejects, tc.wantReject...)
			assert.Equal(t, tc.wantRead, r.Read)
			assert.Equal(t, tc.wantDeliv, r.Delivered)
			assert.Len(t, srv.State().Profiles, int(tc.wantDeliv))
			if len(tc.wantReject) > 0 {
				rej := readRejects(t, rejects)
				assert.Less(t, len(fmt.Sprint(rej[0]["record"])), 4096, "the reject keeps a prefix of the line")
			}
		})
	}
}

func TestExtremeInputs(t *testing.T) {
	wide := func() string {
		var h, v strings.Builder
		h.WriteString("integrationId")
		v.WriteString("w1")
		for i := 1; i < 10_000; i++ {
			fmt.Fprintf(&h, ",A%d", i)
			fmt.Fprintf(&v, ",%d", i)
		}
		return h.String() + "\n" + v.String() + "\n" + "w2" + strings.Repeat(",", 9_999) + "\n"
	}
	tests := []struct {
		name, entity, file, content string
		wantCode                    int
		wantErr                     []string // in stderr
		wantReject                  []int    // lines
		wantDelivered               int64
		noReport                    bool // a usage error stops before the run
	}{
		{name: "csv NUL byte", entity: "profiles", file: "p.csv",
			content:  "integrationId,Name\na1,x\na2,b\x00d\na3,y\n",
			wantCode: exitRejected, wantErr: []string{"rejected"}, wantReject: []int{3}, wantDelivered: 2},
		// A raw NUL is a control character, invalid in a JSON string; the
		// escape \u0000 is valid JSON and passes through as it is.
		{name: "jsonl NUL byte", entity: "profiles", file: "p.jsonl",
			content:  `{"integrationId":"a1"}` + "\n" + "{\"integrationId\":\"a\x002\"}\n" + `{"integrationId":"a\u00003"}` + "\n" + `{"integrationId":"a4"}` + "\n",
			wantCode: exitRejected, wantReject: []int{2}, wantDelivered: 3},
		{name: "csv invalid UTF-8", entity: "catalog", file: "c.csv",
			content:  "sku,product\ns1,ok\ns\xff2,bad\ns3,b\xc3\n",
			wantCode: exitRejected, wantReject: []int{3, 4}, wantDelivered: 1},
		{name: "jsonl invalid UTF-8", entity: "audiences", file: "a.jsonl",
			content:  `{"profileIntegrationId":"p1","audienceId":1}` + "\n" + "{\"profileIntegrationId\":\"p\xff\",\"audienceId\":1}\n",
			wantCode: exitRejected, wantReject: []int{2}, wantDelivered: 1},
		{name: "10,000 columns", entity: "profiles", file: "wide.csv", content: wide(),
			wantCode: exitOK, wantDelivered: 2},
		{name: "header only", entity: "profiles", file: "h.csv", content: "integrationId,Age:number\n",
			wantCode: exitOK},
		{name: "empty file", entity: "profiles", file: "e.csv", content: "",
			wantCode: exitUsage, wantErr: []string{"no header row"}, noReport: true},
		{name: "duplicate header", entity: "profiles", file: "d.csv", content: "integrationId,Age,Age:number\nc1,1,2\n",
			wantCode: exitUsage, wantErr: []string{`column "Age:number"`, "duplicate"}, noReport: true},
		{name: "duplicate key column spelled twice", entity: "profiles", file: "d.csv", content: "integrationId,Integration_ID\nc1,c2\n",
			wantCode: exitUsage, wantErr: []string{`column "Integration_ID"`, "duplicate"}, noReport: true},
		// A column without a name is not read; a value in it is warned about.
		{name: "empty header name", entity: "catalog", file: "d.csv", content: "sku,,price\ns1,x,1\n",
			wantCode: exitOK, wantErr: []string{"warning: line 2: column 2: the column has no name in the header but holds values"}, wantDelivered: 1},
		{name: "key column spelled integration-id", entity: "profiles", file: "k.csv", content: "integration-id,Age\nc1,1\n",
			wantCode: exitUsage, wantErr: []string{"no integrationId column", `columns found: "integration-id", "Age"`}, noReport: true},
		{name: "key column spelled customerId", entity: "profiles", file: "k.csv", content: "customerId,Name\nc1,x\n",
			wantCode: exitUsage, wantErr: []string{"no integrationId column", `"customerId", "Name"`}, noReport: true},
		{name: "audience key column spelled profileId", entity: "audiences", file: "k.csv", content: "profileId,audienceId\np1,1\n",
			wantCode: exitUsage, wantErr: []string{"no profileIntegrationId column", `"profileId", "audienceId"`}, noReport: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := startEmulator(t, emulator.Options{})
			dir := t.TempDir()
			in := writeFile(t, dir, tc.file, tc.content)
			rep, rejects := filepath.Join(dir, "report.json"), filepath.Join(dir, "rejects.jsonl")
			args := []string{tc.entity, "--report", rep, "--rejects", rejects, in}
			switch tc.entity {
			case "catalog":
				args = append(args, "--catalog-id", "1")
			case "audiences":
				args = append(args, "--audience-id", "1")
			}
			res := runCLI(t, srv.URL(), testKey, cli{args: args})
			assert.Equal(t, tc.wantCode, res.Code, res.Stderr)
			for _, s := range tc.wantErr {
				assert.Contains(t, res.Stderr, s)
			}
			if tc.noReport {
				assert.Zero(t, srv.Stats().RequestsTotal, "nothing sent")
				return
			}
			r := xtReconcile(t, rep, rejects, tc.wantReject...)
			assert.Equal(t, tc.wantDelivered, r.Delivered)
			if tc.wantDelivered == 0 {
				assert.Zero(t, srv.Stats().RequestsTotal, "nothing sent")
			}
		})
	}
}

// TestExtremeTruncatedGzip cuts a gzipped input in the middle: the run fails
// with a clear message, and the rows before the cut are delivered and counted.
func TestExtremeTruncatedGzip(t *testing.T) {
	var raw bytes.Buffer
	raw.WriteString("integrationId,Age:number,Note\n")
	for i := range 20_000 {
		fmt.Fprintf(&raw, "c%05d,%d,note %x\n", i, i%90, i*7919)
	}
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	require.NoError(t, err)
	_, err = zw.Write(raw.Bytes())
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	cut := gz.Bytes()[:gz.Len()*6/10]

	srv := startEmulator(t, emulator.Options{})
	dir := t.TempDir()
	in := writeFile(t, dir, "p.csv.gz", string(cut))
	rep, rejects := filepath.Join(dir, "report.json"), filepath.Join(dir, "rejects.jsonl")
	res := runCLI(t, srv.URL(), testKey, cli{args: []string{"profiles", "--report", rep, "--rejects", rejects, in}})
	assert.Equal(t, exitFailed, res.Code, res.Stderr)
	assert.Contains(t, res.Stderr, "unexpected EOF")
	assert.Regexp(t, `line \d+`, res.Stderr, "the error names where reading stopped")
	r := xtReconcile(t, rep, rejects)
	assert.Greater(t, r.Read, int64(1000), "rows before the cut were read")
	assert.Less(t, r.Read, int64(20_000))
	assert.Equal(t, r.Read, r.Delivered, "rows before the cut are delivered")
	assert.Len(t, srv.State().Profiles, int(r.Delivered))
	assert.NotEmpty(t, r.Error)
}

// TestExtremeGrowingFile appends rows, in pieces that split lines, while the
// CLI reads the file against a slow emulator. The CLI reads the file as it
// was when it started, says so, and a second run syncs the whole file.
func TestExtremeGrowingFile(t *testing.T) {
	srv := startEmulator(t, emulator.Options{Faults: emulator.Faults{Latency: 20 * time.Millisecond}})
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("integrationId,Seq:number\n")
	const first, more = 1000, 500
	for i := range first {
		fmt.Fprintf(&b, "c%04d,%d\n", i, i)
	}
	in := writeFile(t, dir, "p.csv", b.String())
	rep, rejects, ckpt := filepath.Join(dir, "report.json"), filepath.Join(dir, "rejects.jsonl"), filepath.Join(dir, "p.ckpt")
	c := cli{args: []string{"profiles", "--workers", "1", "--batch-size", "10", "--report", rep, "--rejects", rejects, "--checkpoint", ckpt, in}}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd, _, errOut := c.command(ctx, srv.URL(), testKey)
	require.NoError(t, cmd.Start())
	appended := make(chan error, 1)
	go func() {
		appended <- func() error {
			for srv.Stats().ItemsApplied == 0 {
				time.Sleep(time.Millisecond)
			}
			f, err := os.OpenFile(in, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			for i := first; i < first+more; i++ {
				row := fmt.Sprintf("c%04d,%d\n", i, i)
				// Two writes per row: a reader may see half a row.
				for _, part := range []string{row[:3], row[3:]} {
					if _, err := f.WriteString(part); err != nil {
						return err
					}
				}
				if i%50 == 0 {
					time.Sleep(10 * time.Millisecond)
				}
			}
			return nil
		}()
	}()
	err := cmd.Wait()
	require.NoError(t, <-appended)
	require.NoError(t, err, errOut.String())
	assert.Contains(t, errOut.String(), "grew while it was read")
	r := xtReconcile(t, rep, rejects)
	assert.Equal(t, int64(first), r.Read, "the rows of the file as it was at start")
	assert.Equal(t, int64(first), r.Delivered)
	assert.Len(t, srv.State().Profiles, first, "no appended row, and no half row, was sent")

	// The checkpoint of the finished run belongs to the smaller file: the next
	// run starts over with the whole file.
	res := runCLI(t, srv.URL(), testKey, c)
	require.Equal(t, exitOK, res.Code, res.Stderr)
	assert.NotContains(t, res.Stderr, "grew")
	r = xtReconcile(t, rep, rejects)
	assert.Equal(t, int64(first+more), r.Read)
	assert.Equal(t, int64(first+more), r.Delivered)
	assert.Len(t, srv.State().Profiles, first+more)
}
