package explain

import (
	"sort"

	fwk "k8s.io/kube-scheduler/framework"

	"github.com/ml-scheduler/ml-scheduler/pkg/plugins/mlpolicy"
)

// rank orders the scored nodes as the scheduler does (highest total
// first; the scheduler breaks ties at random, here by name) and gives each
// its competition rank: nodes of equal total share a rank. It returns the
// top ones and the rank of node (0 when it is not among the scored).
func rank(scores []fwk.NodePluginScores, parts map[string]mlpolicy.ScoreParts, packing string, top int, node string) ([]Candidate, int) {
	sorted := append([]fwk.NodePluginScores(nil), scores...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].TotalScore != sorted[j].TotalScore {
			return sorted[i].TotalScore > sorted[j].TotalScore
		}
		return sorted[i].Name < sorted[j].Name
	})
	var out []Candidate
	placed := 0
	r := 0
	for i, s := range sorted {
		if i == 0 || s.TotalScore != sorted[i-1].TotalScore {
			r = i + 1
		}
		if s.Name == node {
			placed = r
		}
		if i >= top {
			continue
		}
		c := Candidate{Rank: r, Node: s.Name, Total: s.TotalScore, Scores: []PluginScore{}}
		for _, ps := range s.Scores {
			c.Scores = append(c.Scores, PluginScore{Plugin: ps.Name, Score: ps.Score})
		}
		if p, ok := parts[s.Name]; ok {
			c.MLPolicy = &MLPolicyParts{Packing: packing, Preference: p.Preference, Colocation: p.Colocation}
			if p.Packing != nil {
				c.MLPolicy.PackingPart = p.Packing
			} else {
				c.MLPolicy.Packing = ""
			}
		}
		out = append(out, c)
	}
	return out, placed
}
