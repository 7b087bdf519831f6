package state

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon"
)

// The crash test: a child process (this test binary, re-executed) runs
// sync after sync against one state file, as talonsync does, and the
// parent kills it with SIGKILL at a random moment: while it compares,
// journals, confirms, writes a snapshot or replays one. Then the parent
// opens the state and checks the one promise that matters: no entry claims
// a value the API may not hold.
//
// The child simulates the API: before it sends a key's value it appends
// "S key value" to a log, after the API applied it "A key value" (or "R key"
// when the API rejected it and nothing changed). Each line is one write
// to an O_APPEND file, so the kernel keeps it whatever becomes of the
// process. From the log the parent knows, for each key, the value the API
// holds for sure, and the one it may hold instead if a send was cut short.

const (
	crashEnvDir  = "TALONSYNC_STATE_CRASH_DIR"
	crashEnvSeed = "TALONSYNC_STATE_CRASH_SEED"
	crashKeys    = 20000
)

func crashValue(key, v string) Value { return ValueOf(key, talon.Item{JSON: []byte(v)}) }

// TestCrashChild is the child's body; it does nothing unless the parent
// started it.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnvDir)
	if dir == "" {
		t.Skip("the child of TestCrash")
	}
	seed, _ := strconv.ParseUint(os.Getenv(crashEnvSeed), 10, 64)
	rng := rand.New(rand.NewPCG(seed, 99))
	logf, err := os.OpenFile(filepath.Join(dir, "log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	say := func(format string, a ...any) {
		if _, err := fmt.Fprintf(logf, format+"\n", a...); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "state")
	opts := Options{}
	for {
		f, err := OpenFile(path, opts)
		must(err)
		must(f.Bind(testID))
		_, err = f.Begin()
		must(err)
		sent := map[string]bool{}
		for range 1 + rng.IntN(4) {
			type send struct{ key, v string }
			var batch []send
			var keys []string
			refresh := time.Time{}
			if rng.IntN(3) == 0 {
				refresh = time.Now().Add(time.Minute) // every confirmation is due
			}
			for range 500 {
				key := "k-" + strconv.Itoa(rng.IntN(crashKeys))
				if sent[key] {
					continue
				}
				sent[key] = true
				v := strconv.Itoa(rng.IntN(3))
				if f.Compare(key, crashValue(key, v), refresh) == KeyUnchanged {
					continue
				}
				batch = append(batch, send{key, v})
				keys = append(keys, key)
			}
			must(f.Invalidate(keys...))
			for _, s := range batch {
				say("S %s %s", s.key, s.v)
				switch r := rng.IntN(10); {
				case r == 0:
					say("R %s", s.key)
					must(f.Reject(s.key))
				case r == 1:
					say("A %s %s", s.key, s.v) // applied; the confirmation is lost
				default:
					say("A %s %s", s.key, s.v)
					must(f.Confirm(s.key, crashValue(s.key, s.v), r == 2))
				}
			}
		}
		if rng.IntN(5) == 0 {
			must(f.Close()) // as if the run died: the next Open replays it
			continue
		}
		must(f.Commit(RunInfo{}, rng.IntN(2) == 0))
		must(f.Close())
	}
}

// apiKey is what the parent knows of a key at the API.
type apiKey struct {
	held     string // the value applied for sure ("" none)
	inFlight string // a value sent after it and maybe applied ("" none)
	sending  bool
}

func readCrashLog(t *testing.T, dir string) map[string]*apiKey {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "log"))
	require.NoError(t, err)
	defer f.Close()
	keys := map[string]*apiKey{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		k := keys[fields[1]]
		if k == nil {
			k = &apiKey{}
			keys[fields[1]] = k
		}
		switch {
		case fields[0] == "S" && len(fields) == 3:
			k.inFlight, k.sending = fields[2], true
		case fields[0] == "A" && len(fields) == 3:
			k.held, k.inFlight, k.sending = fields[2], "", false
		case fields[0] == "R":
			k.inFlight, k.sending = "", false
		}
	}
	require.NoError(t, sc.Err())
	return keys
}

func TestCrash(t *testing.T) {
	if os.Getenv(crashEnvDir) != "" {
		t.Skip("in the child")
	}
	kills := 25
	if testing.Short() {
		kills = 6
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(2026, 12))
	claims := 0
	for i := range kills {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnvDir+"="+dir, crashEnvSeed+"="+strconv.Itoa(i))
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		require.NoError(t, cmd.Start())
		time.Sleep(time.Duration(50+rng.IntN(600)) * time.Millisecond)
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		err := cmd.Wait()
		if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("kill %d: the child ended by itself (%v):\n%s", i, err, out.String())
		}

		api := readCrashLog(t, dir)
		f, err := OpenFile(filepath.Join(dir, "state"), Options{})
		require.NoError(t, err, "kill %d: the state opens after a kill", i)
		err = f.Each(func(ki KeyInfo) error {
			if ki.Value == 0 {
				return nil
			}
			claims++
			k := api[ki.Key]
			switch {
			case k == nil || k.held == "":
				return fmt.Errorf("%s claims a value, but nothing was ever applied", ki.Key)
			case ki.Value != crashValue(ki.Key, k.held):
				return fmt.Errorf("%s claims a value other than the one the API holds (%s)", ki.Key, k.held)
			case k.sending && k.inFlight != k.held:
				return fmt.Errorf("%s claims %s while %s was being sent", ki.Key, k.held, k.inFlight)
			}
			return nil
		})
		require.NoError(t, err, "kill %d", i)
		require.NoError(t, f.Close())
	}
	require.NotZero(t, claims, "the state confirmed something between kills")
	t.Logf("%d kills, %d claims checked", kills, claims)
}
