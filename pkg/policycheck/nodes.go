package policycheck

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

// maxNames bounds the node and namespace names a message lists.
const maxNames = 5

// placementRef is a rule's placement, or the default's, with its field path.
type placementRef struct {
	path *field.Path
	// what names it in messages: `rule "x"` or `the default placement`.
	what string
	pl   *policy.Placement
	rule *policy.CompiledRule
}

func placements(c *policy.Compiled) []placementRef {
	src := c.Source()
	var refs []placementRef
	for i := range src.Rules {
		refs = append(refs, placementRef{path: field.NewPath("rules").Index(i), what: fmt.Sprintf("rule %q", src.Rules[i].Name),
			pl: &src.Rules[i].Placement, rule: c.Rules[i]})
	}
	if src.Default != nil {
		refs = append(refs, placementRef{path: field.NewPath("default"), what: "the default placement", pl: src.Default, rule: c.Default})
	}
	return refs
}

// confinedPath is the field that confines a placement's pods: its pools, or
// its gpuModels when it names no pool.
func (r placementRef) confinedPath() string {
	if len(r.pl.Pools) > 0 {
		return r.path.Child("pools").String()
	}
	return r.path.Child("gpuModels").String()
}

// checkSelectors reports pools and preferred selectors choosing no node,
// placements whose pools and GPU models together admit no node, and
// topology keys no node carries.
func checkSelectors(cl *classified) []Finding {
	var findings []Finding
	total := plural(len(cl.nodes), "node")
	for i, p := range cl.c.Pools {
		if len(cl.poolNodes[i]) == 0 {
			findings = append(findings, warningf(field.NewPath("pools").Index(i).Child("nodeSelector").String(),
				"pool %q selects none of the %s", p.Name, total))
		}
	}
	for _, ref := range placements(cl.c) {
		if f, ok := admitsNoNode(cl, ref); ok {
			findings = append(findings, f)
		}
		for k, pref := range ref.rule.Preferred {
			if len(cl.matching(pref.Selector)) == 0 {
				findings = append(findings, warningf(ref.path.Child("preferred").Index(k).Child("nodeSelector").String(),
					"selects none of the %s: the preference of %s has no effect", total, ref.what))
			}
		}
		if col := ref.pl.Colocate; col != nil && !anyNodeHasLabel(cl, col.TopologyKey) {
			findings = append(findings, warningf(ref.path.Child("colocate", "topologyKey").String(),
				"no node has label %s: colocation of %s has no effect", col.TopologyKey, ref.what))
		}
		if g := ref.pl.Gang; g != nil && g.TopologyKey != "" && !anyNodeHasLabel(cl, g.TopologyKey) {
			findings = append(findings, warningf(ref.path.Child("gang", "topologyKey").String(),
				"no node has label %s: gangs of %s have no topology domain to be placed in", g.TopologyKey, ref.what))
		}
	}
	return findings
}

// admitsNoNode reports a placement whose pools and GPU models are each
// present in the cluster but share no node. (A pool or model missing
// altogether is reported on its own.)
func admitsNoNode(cl *classified, ref placementRef) (Finding, bool) {
	r := ref.rule
	if !r.Confines() || len(cl.nodes) == 0 {
		return Finding{}, false
	}
	for _, name := range r.PoolNames {
		if len(cl.poolNodes[poolIndex(cl.c, name)]) == 0 {
			return Finding{}, false
		}
	}
	for _, m := range r.GPUModels {
		if !cl.models[m] {
			return Finding{}, false
		}
	}
	for n := range cl.nodes {
		if (r.Pools.Empty() || r.Pools.Intersects(&cl.classes[n].Pools)) &&
			(len(r.GPUModels) == 0 || slices.Contains(r.GPUModels, cl.classes[n].Model)) {
			return Finding{}, false
		}
	}
	return warningf(ref.path.String(), "no node is both in pools [%s] and of GPU model [%s]: %s can place no pod",
		strings.Join(r.PoolNames, ", "), strings.Join(r.GPUModels, ", "), ref.what), true
}

func poolIndex(c *policy.Compiled, name string) int {
	for _, p := range c.Pools {
		if p.Name == name {
			return p.Index
		}
	}
	return -1
}

func anyNodeHasLabel(cl *classified, key string) bool {
	for _, node := range cl.nodes {
		if _, ok := node.Labels[key]; ok {
			return true
		}
	}
	return false
}

// checkOverlaps reports pools sharing nodes where ownership then conflicts.
// Ownership on a node is the union of the owners of every owned pool it is
// in, so two owned pools with different owners sharing nodes let each
// pool's owners onto the other's nodes (an error: the policy does not do
// what it says), and an owned pool sharing nodes with a pool any namespace
// may use keeps those nodes from the shared pool's other users (a warning).
func checkOverlaps(cl *classified) []Finding {
	var findings []Finding
	pools := cl.c.Pools
	for b := range pools {
		for a := 0; a < b; a++ {
			pa, pb := pools[a], pools[b]
			if pa.Owners == nil && pb.Owners == nil || pa.Owners.Equal(pb.Owners) {
				continue
			}
			shared := intersect(cl.poolNodes[a], cl.poolNodes[b])
			if len(shared) == 0 {
				continue
			}
			nodes := fmt.Sprintf("%s (%s)", plural(len(shared), "node"), listNames(cl.names(shared), maxNames))
			path := field.NewPath("pools").Index(b)
			switch {
			case pa.Owners != nil && pb.Owners != nil:
				findings = append(findings, errorf(path.Child("ownerNamespaces").String(),
					"pool %q (owners %s) and pools[%d] %q (owners %s) share %s: ownership there is the union, so %s",
					pb.Name, ownersOf(pb.Owners), a, pa.Name, ownersOf(pa.Owners), nodes, intruders(pa, pb)))
			case pa.Owners != nil:
				findings = append(findings, warningf(path.Child("nodeSelector").String(),
					"pool %q (any namespace) shares %s with pools[%d] %q, owned by %s: only their pods may use those nodes, whatever rule confines pods to %q",
					pb.Name, nodes, a, pa.Name, ownersOf(pa.Owners), pb.Name))
			default:
				findings = append(findings, warningf(path.Child("ownerNamespaces").String(),
					"pool %q (owned by %s) shares %s with pools[%d] %q (any namespace): only %s pods may use those nodes, whatever rule confines pods to %q",
					pb.Name, ownersOf(pb.Owners), nodes, a, pa.Name, ownersOf(pb.Owners), pa.Name))
			}
		}
	}
	return findings
}

// intruders says which owners of each pool reach the other pool's nodes.
func intruders(pa, pb *policy.CompiledPool) string {
	var parts []string
	if extra := pb.Owners.Difference(pa.Owners); extra.Len() > 0 {
		parts = append(parts, fmt.Sprintf("pods of %s may use those nodes of pool %q", ownersOf(extra), pa.Name))
	}
	if extra := pa.Owners.Difference(pb.Owners); extra.Len() > 0 {
		parts = append(parts, fmt.Sprintf("pods of %s those of pool %q", ownersOf(extra), pb.Name))
	}
	return strings.Join(parts, ", and ")
}

func ownersOf(s sets.Set[string]) string {
	return "[" + strings.Join(sets.List(s), ", ") + "]"
}

func intersect(a, b []int) []int {
	in := sets.New(b...)
	var out []int
	for _, n := range a {
		if in.Has(n) {
			out = append(out, n)
		}
	}
	return out
}

// checkGPUModels reports GPU models named by placements or expected shapes
// that no node carries.
func checkGPUModels(cl *classified) []Finding {
	present := sets.List(sets.KeySet(cl.models))
	have := "no node has the label"
	if len(present) > 0 {
		have = "models present: " + listNames(present, 10)
	}
	var findings []Finding
	check := func(path *field.Path, models []string, whose string) {
		for j, m := range models {
			if !cl.models[m] {
				findings = append(findings, warningf(path.Index(j).String(),
					"no node has GPU model %q (label %s; %s): %s", m, cl.c.GPUModelLabel, have, whose))
			}
		}
	}
	for _, ref := range placements(cl.c) {
		check(ref.path.Child("gpuModels"), ref.pl.GPUModels, ref.what+" can place no pod on it")
	}
	for k, es := range cl.c.Source().ExpectedShapes {
		check(field.NewPath("expectedShapes").Index(k).Child("gpuModels"), es.GPUModels, "the shape plans for nodes that do not exist")
	}
	return findings
}
