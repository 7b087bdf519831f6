package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/state"
	"github.com/talonsync/talonsync/internal/talon"
	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// The net-effect end-to-end tests (e2e_netfx*_test.go) sync generated
// feeds of the three entities in which key k's row says "value v": a
// catalog ADD with price v+1 and Color "c<v>", a profile with attribute
// V=v, an audience add (v even) or delete (v odd). Every row of a key
// overrides the earlier ones, so a key's net effect is its last row, and
// what the API must hold follows from the feed alone.

// nfRow is one input row: key k says value v.
type nfRow struct{ k, v int }

// nfFeed is a generated feed, in file order.
type nfFeed []nfRow

// nfGen returns a feed of keys keys, each once, and extra more rows of
// keys drawn at random, shuffled: keys repeat anywhere in the file, near
// and far apart.
func nfGen(seed uint64, keys, extra int) nfFeed {
	rng := rand.New(rand.NewPCG(seed, 12))
	f := make(nfFeed, 0, keys+extra)
	for k := range keys {
		f = append(f, nfRow{k: k, v: rng.IntN(1000)})
	}
	for range extra {
		f = append(f, nfRow{k: rng.IntN(keys), v: rng.IntN(1000)})
	}
	rng.Shuffle(len(f), func(i, j int) { f[i], f[j] = f[j], f[i] })
	return f
}

// net returns each key's net effect: the value of its last row.
func (f nfFeed) net() map[int]int {
	out := make(map[int]int)
	for _, r := range f {
		out[r.k] = r.v
	}
	return out
}

// rows returns how many rows each key has.
func (f nfFeed) rows() map[int]int {
	out := make(map[int]int)
	for _, r := range f {
		out[r.k]++
	}
	return out
}

// keys returns the feed's keys, sorted.
func (f nfFeed) keys() []int {
	var out []int
	for k := range f.net() {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// nfEntity renders feeds of one entity and reads back what the API holds.
type nfEntity struct {
	name   string
	args   []string // the command and its target
	file   string   // the input's file name
	header string   // the first line, if any
	line   func(r nfRow) string
	key    func(k int) string // the entity key, as the state names it
	hist   func(k int) string // the emulator's History key
	// want is what the API holds after a feed of net effects net, by
	// entity key; held is what it does hold.
	want func(net map[int]int) map[string]string
	held func(t *testing.T, st emulator.State) map[string]string
}

func (e nfEntity) render(f nfFeed) string {
	var b strings.Builder
	if e.header != "" {
		b.WriteString(e.header + "\n")
	}
	for _, r := range f {
		b.WriteString(e.line(r) + "\n")
	}
	return b.String()
}

// nfEntities are the three entities, each on its own emulator target.
func nfEntities() []nfEntity {
	sku := func(k int) string { return fmt.Sprintf("N%05d", k) }
	pid := func(k int) string { return fmt.Sprintf("P%05d", k) }
	mid := func(k int) string { return fmt.Sprintf("M%05d", k) }
	return []nfEntity{
		{
			name: "catalog", args: []string{"catalog", "--catalog-id", "1"}, file: "feed.csv", header: "sku,price,Color",
			line: func(r nfRow) string { return fmt.Sprintf("%s,%d,c%d", sku(r.k), r.v+1, r.v) },
			key:  sku,
			hist: func(k int) string { return emulator.CatalogKey(1, sku(k)) },
			want: func(net map[int]int) map[string]string {
				out := map[string]string{}
				for k, v := range net {
					out[sku(k)] = fmt.Sprintf(`%d "c%d"`, v+1, v)
				}
				return out
			},
			held: func(t *testing.T, st emulator.State) map[string]string {
				out := map[string]string{}
				for s, it := range st.Catalogs[1] {
					require.NotNil(t, it.Price, s)
					out[s] = strconv.FormatFloat(*it.Price, 'f', -1, 64) + " " + string(it.Attributes["Color"])
				}
				return out
			},
		},
		{
			name: "profiles", args: []string{"profiles"}, file: "feed.jsonl",
			line: func(r nfRow) string {
				return fmt.Sprintf(`{"integrationId":"%s","attributes":{"V":%d}}`, pid(r.k), r.v)
			},
			key:  pid,
			hist: func(k int) string { return emulator.ProfileKey(pid(k)) },
			want: func(net map[int]int) map[string]string {
				out := map[string]string{}
				for k, v := range net {
					out[pid(k)] = fmt.Sprintf(`{"V":%d}`, v)
				}
				return out
			},
			held: func(t *testing.T, st emulator.State) map[string]string {
				out := map[string]string{}
				for id, p := range st.Profiles {
					b, err := json.Marshal(p.Attributes)
					require.NoError(t, err)
					out[id] = string(b)
				}
				return out
			},
		},
		{
			name: "audiences", args: []string{"audiences", "--audience-id", "1"}, file: "feed.csv", header: "profileIntegrationId,action",
			line: func(r nfRow) string {
				if r.v%2 == 0 {
					return mid(r.k) + ",add"
				}
				return mid(r.k) + ",delete"
			},
			key:  func(k int) string { return talon.MembershipKey(1, mid(k)) },
			hist: func(k int) string { return emulator.AudienceKey(1, mid(k)) },
			want: func(net map[int]int) map[string]string {
				out := map[string]string{}
				for k, v := range net {
					if v%2 == 0 {
						out[mid(k)] = "member"
					}
				}
				return out
			},
			held: func(t *testing.T, st emulator.State) map[string]string {
				out := map[string]string{}
				for _, id := range st.Audiences[1] {
					out[id] = "member"
				}
				return out
			},
		},
	}
}

// nfSync is one entity's feeds synced with one state file against one
// emulator.
type nfSync struct {
	e     nfEntity
	srv   *emulator.Server
	dir   string
	state string
	runs  int
}

func newNFSync(t *testing.T, e nfEntity, opts emulator.Options) *nfSync {
	t.Helper()
	opts.History = true
	dir := t.TempDir()
	return &nfSync{e: e, srv: startEmulator(t, opts), dir: dir, state: filepath.Join(dir, e.name+".state")}
}

// args are the arguments of a --state run of input with extra flags.
func (s *nfSync) args(input string, extra ...string) []string {
	args := append(slices.Clone(s.e.args), "--state", s.state, "--batch-size", "50", "--max-retries", "20",
		"--rejects", filepath.Join(s.dir, "rejects.jsonl"))
	args = append(args, extra...)
	return append(args, input)
}

// input writes feed f to a new file and returns its path.
func (s *nfSync) input(t *testing.T, f nfFeed) string {
	t.Helper()
	s.runs++
	return writeFile(t, s.dir, fmt.Sprintf("%d-%s", s.runs, s.e.file), s.e.render(f))
}

// run syncs f with --state and extra flags and returns the result and
// its report.
func (s *nfSync) run(t *testing.T, f nfFeed, extra ...string) (cliResult, report) {
	t.Helper()
	in := s.input(t, f)
	rep := filepath.Join(s.dir, fmt.Sprintf("report-%d.json", s.runs))
	res := runCLI(t, s.srv.URL(), testKey, cli{args: s.args(in, append(extra, "--report", rep)...), dir: s.dir})
	return res, readReport(t, rep)
}

// sent returns, for each key of f, how many items the emulator applied to
// it so far.
func (s *nfSync) sent(f nfFeed) map[int]int {
	out := map[int]int{}
	for _, k := range f.keys() {
		out[k] = len(s.srv.History(s.e.hist(k)))
	}
	return out
}

// holds checks that the API holds exactly the net effect of f.
func (s *nfSync) holds(t *testing.T, f nfFeed) {
	t.Helper()
	require.Equal(t, s.e.want(f.net()), s.e.held(t, s.srv.State()), "the API holds the feed's net effect")
}

// allEntries reads every entry of the state file, removals included, by
// entity key.
func allEntries(t *testing.T, path string) map[string]state.KeyInfo {
	t.Helper()
	f, err := state.OpenFile(path, state.Options{ReadOnly: true})
	require.NoError(t, err)
	defer f.Close()
	out := map[string]state.KeyInfo{}
	require.NoError(t, f.Each(func(k state.KeyInfo) error {
		out[k.Key] = k
		return nil
	}))
	return out
}
