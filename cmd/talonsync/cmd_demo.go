package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"github.com/talonsync/talonsync/examples"
	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/talon/emulator"
)

const demoKey = "demo-key"

func newDemoCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Sync the example files into an in-process emulator and show the result",
		Long: `Start the emulator in-process, sync the example products, profiles and
audience members into it with the real pipeline, and print each summary and
what the emulator holds afterwards. Needs no Talon.One account.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), e)
		},
	}
}

func runDemo(ctx context.Context, e *env) error {
	srv, err := emulator.Start(emulator.Options{APIKey: demoKey, Catalogs: []int64{1}, Audiences: []int64{1, 2, 3}})
	if err != nil {
		return err
	}
	defer srv.Close()
	dir, err := os.MkdirTemp("", "talonsync-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	out := e.io.Out
	fmt.Fprintf(out, "talonsync demo: emulator on %s\n\n", srv.URL())
	for _, s := range demoSteps {
		fmt.Fprintf(out, "$ talonsync %s %sexamples/%s\n", s.entity, s.flags, s.file)
		if err := runDemoStep(ctx, e, s, dir, srv.URL()); err != nil {
			return err
		}
	}
	return printState(e, srv.State())
}

// demoStep is one sync of the demo.
type demoStep struct {
	entity readers.Entity
	flags  string
	file   string
	setup  func(o *syncOptions)
}

var demoSteps = []demoStep{
	{readers.EntityCatalog, "--catalog-id 1 ", "products.csv", func(o *syncOptions) { o.CatalogID = 1 }},
	{readers.EntityProfiles, "", "profiles.csv", func(*syncOptions) {}},
	{readers.EntityAudiences, "", "audiences.jsonl", func(*syncOptions) {}},
}

// runDemoStep syncs one example file into the emulator at url with the
// sync commands' defaults, printing the summary to stdout.
func runDemoStep(ctx context.Context, e *env, s demoStep, dir, url string) error {
	path := filepath.Join(dir, s.file)
	data, err := fs.ReadFile(examples.FS, s.file)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return err
	}
	de := &env{
		io:   &IOStreams{In: e.io.In, Out: e.io.Out, ErrOut: e.io.Out},
		args: e.args,
		getenv: func(k string) string {
			if k == "TALON_API_KEY" {
				return demoKey
			}
			return ""
		},
	}
	o := de.newSyncOptions(s.entity)
	o.Input, o.BaseURL, o.Progress = path, url, "never"
	o.Rejects = path + ".rejects.jsonl"
	s.setup(o)
	if err := runSync(ctx, o); err != nil {
		return fmt.Errorf("demo %s: %w", s.entity, err)
	}
	return nil
}

func printState(e *env, st emulator.State) error {
	out := e.io.Out
	fmt.Fprintln(out, "\nThe emulator now holds:")
	for id, items := range st.Catalogs {
		fmt.Fprintf(out, "  catalog %d: %d items\n", id, len(items))
		skus := make([]string, 0, len(items))
		for sku := range items {
			skus = append(skus, sku)
		}
		sort.Strings(skus)
		for _, sku := range skus {
			b, _ := json.Marshal(items[sku])
			fmt.Fprintf(out, "    %s\n", b)
		}
	}
	fmt.Fprintf(out, "  %d customer profiles\n", len(st.Profiles))
	ids := make([]string, 0, len(st.Profiles))
	for id := range st.Profiles {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		b, _ := json.Marshal(st.Profiles[id])
		fmt.Fprintf(out, "    %s\n", b)
	}
	auds := make([]int64, 0, len(st.Audiences))
	for id := range st.Audiences {
		auds = append(auds, id)
	}
	sort.Slice(auds, func(i, j int) bool { return auds[i] < auds[j] })
	for _, id := range auds {
		fmt.Fprintf(out, "  audience %d: %v\n", id, st.Audiences[id])
	}
	return nil
}
