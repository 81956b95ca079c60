package policy

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary documents through Load (Decode, SetDefaults,
// Validate, Compile). It must never panic; a document it accepts must load
// to the same hash again, and so must the policy it decoded, written back out
// as JSON (the decoded form loses nothing that matters).
//
//	go test ./pkg/policy/ -run XXX -fuzz FuzzLoad -fuzztime 60s
func FuzzLoad(f *testing.F) {
	err := filepath.WalkDir("testdata", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "fuzz" { // the fuzzer's own corpus, in its own format
				return filepath.SkipDir
			}
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f.Add(data)
		return nil
	})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		"",
		"null",
		"---\n---\n",
		"[]",
		"{}",
		header,
		header + "rules: [{name: a, pools: [missing]}]",
		header + "pools: [{name: a, nodeSelector: {matchExpressions: [{key: k, operator: Inn, values: [v]}]}}]",
		header + "pools: [{name: a, nodeSelector: {}}]\nrules: [{name: r, pools: [a], preferred: [{weight: 100, nodeSelector: {}}]}]",
		header + "rules: [{name: a, colocate: {jobLabel: j, topologyKey: t}}]\ndefault: {gpuPacking: Spread}",
		header + "default: &d {gpuPacking: BinPack}\nrules: [{<<: *d, name: a}]",
		header + "rules:\n- name: a\n  name: a\n",
		`{"apiVersion":"ml-scheduler.io/v1alpha1","kind":"PlacementPolicy","pools":[{"name":"x","nodeSelector":{"matchLabels":{"a":"b"}}}]}`,
		`{"apiVersion":"ml-scheduler.io/v1alpha1","kind":"PlacementPolicy"}{}`,
		"apiVersion: [\n",
		"\t{\"kind\": 1}",
	} {
		f.Add([]byte(s))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Load(data)
		if err != nil {
			if c != nil {
				t.Fatalf("Load returned a policy along with error %v", err)
			}
			if err.Error() == "" {
				t.Fatal("Load returned an error with an empty message")
			}
			return
		}
		if c == nil {
			t.Fatal("Load returned neither a policy nor an error")
		}
		again, err := Load(data)
		if err != nil {
			t.Fatalf("second Load of the same document failed: %v", err)
		}
		if c.Hash() != again.Hash() {
			t.Fatalf("same document, different hashes: %s and %s", c.Hash(), again.Hash())
		}
		if c.Source() == nil {
			return
		}
		encoded, err := json.Marshal(c.Source())
		if err != nil {
			t.Fatalf("marshaling the loaded policy: %v", err)
		}
		roundTrip, err := Load(encoded)
		if err != nil {
			t.Fatalf("the loaded policy, written as JSON, does not load: %v\n%s", err, encoded)
		}
		if roundTrip.Hash() != c.Hash() {
			t.Fatalf("the loaded policy, written as JSON, loads to hash %s, not %s\n%s", roundTrip.Hash(), c.Hash(), encoded)
		}
	})
}
