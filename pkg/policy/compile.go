package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/ml-scheduler/ml-scheduler/pkg/fragmentation"
)

// MaxPools bounds the number of pools so a node's pool membership fits a
// fixed-size bit set (PoolSet) the hot path can test without allocating.
const MaxPools = 256

// PoolSet is a set of pool indexes.
type PoolSet [MaxPools / 64]uint64

// Add puts pool i in the set.
func (s *PoolSet) Add(i int) { s[i/64] |= 1 << (uint(i) % 64) }

// Has reports whether pool i is in the set.
func (s *PoolSet) Has(i int) bool { return s[i/64]&(1<<(uint(i)%64)) != 0 }

// Intersects reports whether the two sets share a pool.
func (s *PoolSet) Intersects(o *PoolSet) bool {
	return s[0]&o[0] != 0 || s[1]&o[1] != 0 || s[2]&o[2] != 0 || s[3]&o[3] != 0
}

// Empty reports whether the set has no pool.
func (s *PoolSet) Empty() bool { return s[0]|s[1]|s[2]|s[3] == 0 }

// Compiled is a validated policy in the immutable form the plugins read.
// Nothing in it may be modified after Compile returns: the scheduler shares
// one Compiled between concurrent Filter calls and swaps whole values.
type Compiled struct {
	hash            string
	source          *PlacementPolicy
	GPUResources    []v1.ResourceName
	GPUModelLabel   string
	ReserveGPUNodes bool
	Pools           []*CompiledPool
	// Preferences are the rules' distinct preferred selectors (see
	// CompiledPreference.Index), matched once per node by Classify.
	Preferences []labels.Selector
	// Rules in match order; Default is not among them.
	Rules   []*CompiledRule
	Default *CompiledRule
	// OwnedPools holds every pool that has owner namespaces.
	OwnedPools PoolSet
	// ownedBy maps a namespace to the owned pools it owns.
	ownedBy map[string]PoolSet

	// CPUSpill: with ReserveGPUNodes, a CPU pod may still use a GPU node
	// that keeps, per free GPU, SpillKeepMilliCPU and SpillKeepMemory (0:
	// learned from the expected workload).
	CPUSpill                           bool
	SpillKeepMilliCPU, SpillKeepMemory int64
	// Expected is the stated workload of expectedShapes; nil: learned.
	Expected *fragmentation.Workload
	// Fragmentation reports whether any rule packs by MinFragmentation.
	Fragmentation bool
	// DRA says which DRA devices are GPUs.
	DRA CompiledDRA
}

// CompiledPool is a pool with its selector parsed.
type CompiledPool struct {
	Index    int
	Name     string
	Selector labels.Selector
	// Owners is nil for a pool any namespace may use.
	Owners sets.Set[string]
}

// CompiledRule is a rule (or the default) ready to match pods and judge nodes.
type CompiledRule struct {
	// Index is the rule's position; the default rule has len(Rules).
	Index      int
	Name       string
	namespaces []string
	// podSelector nil matches every pod.
	podSelector labels.Selector

	// PoolNames and Pools are the pools the rule confines pods to; empty: any node.
	PoolNames []string
	Pools     PoolSet
	// GPUModels confines pods to these GPU models; empty: any.
	GPUModels    []string
	gpuModelSet  sets.Set[string]
	Packing      PackingMode
	Preferred    []CompiledPreference
	PreferredSum int64
	Colocate     *Colocation
	// Gang is nil when neither the rule nor the default governs gangs.
	Gang *CompiledGang
}

// CompiledGang is a rule's gang policy with its defaults filled in.
type CompiledGang struct {
	Required bool
	// TopologyKey is empty when the rule places gangs on any nodes.
	TopologyKey string
	// TopologyRequired: a gang lands within one domain or waits.
	TopologyRequired bool
}

// CompiledPreference is one weighted soft node preference.
type CompiledPreference struct {
	Weight   int64
	Selector labels.Selector
	// Index is the selector's bit in NodeClass.Preferred (Compiled.Preferences
	// holds each distinct selector once), or -1 past MaxPreferences: Score
	// then matches the selector against the node's labels.
	Index int
}

// MaxPreferences bounds the distinct preferred selectors whose matches a
// node class records; preferences past it are matched per node in Score.
const MaxPreferences = 256

// PreferenceSet holds a node's matches of Compiled.Preferences as bits.
type PreferenceSet [MaxPreferences / 64]uint64

// Add puts preference i in the set.
func (s *PreferenceSet) Add(i int) { s[i/64] |= 1 << (uint(i) % 64) }

// Has reports whether preference i is in the set.
func (s *PreferenceSet) Has(i int) bool { return s[i/64]&(1<<(uint(i)%64)) != 0 }

// Hash identifies the policy's content (sha256 of its defaulted JSON form,
// first 16 hex digits); equal hashes mean equal policies.
func (c *Compiled) Hash() string { return c.hash }

// Source returns the defaulted policy the Compiled was built from. Callers must not modify it.
func (c *Compiled) Source() *PlacementPolicy { return c.source }

// RuleCount is the number of rules, not counting the default.
func (c *Compiled) RuleCount() int { return len(c.Rules) }

// Confines reports whether the rule restricts nodes by pool or GPU model.
func (r *CompiledRule) Confines() bool { return !r.Pools.Empty() || len(r.GPUModels) > 0 }

// Compile turns a defaulted, validated policy into its immutable form. It
// still returns errors for what validation should have caught, so a caller
// that skipped Validate cannot install a half-built policy.
func Compile(p *PlacementPolicy) (*Compiled, error) {
	if len(p.Pools) > MaxPools {
		return nil, fmt.Errorf("pools: at most %d pools are supported, got %d", MaxPools, len(p.Pools))
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("hashing policy: %w", err)
	}
	sum := sha256.Sum256(raw)
	c := &Compiled{
		hash:          hex.EncodeToString(sum[:8]),
		source:        p,
		GPUModelLabel: p.GPUModelLabel,
		DRA:           compileDRA(p.DRAGPUs),
	}
	c.ReserveGPUNodes = p.ReserveGPUNodes == nil || *p.ReserveGPUNodes
	for _, r := range p.GPUResources {
		c.GPUResources = append(c.GPUResources, v1.ResourceName(r))
	}
	poolIndex := make(map[string]int, len(p.Pools))
	for i, pool := range p.Pools {
		sel, err := selectorOf(pool.NodeSelector)
		if err != nil {
			return nil, fmt.Errorf("pools[%d].nodeSelector: %w", i, err)
		}
		cp := &CompiledPool{Index: i, Name: pool.Name, Selector: sel}
		if len(pool.OwnerNamespaces) > 0 {
			cp.Owners = sets.New(pool.OwnerNamespaces...)
			c.OwnedPools.Add(i)
			if c.ownedBy == nil {
				c.ownedBy = map[string]PoolSet{}
			}
			for _, ns := range pool.OwnerNamespaces {
				owned := c.ownedBy[ns]
				owned.Add(i)
				c.ownedBy[ns] = owned
			}
		}
		poolIndex[pool.Name] = i
		c.Pools = append(c.Pools, cp)
	}
	var prefs preferenceIndex
	for i := range p.Rules {
		r, err := compileRule(i, p.Rules[i].Name, &p.Rules[i].Match, &p.Rules[i].Placement, poolIndex, &prefs)
		if err != nil {
			return nil, fmt.Errorf("rules[%d]: %w", i, err)
		}
		c.Rules = append(c.Rules, r)
	}
	def := p.Default
	if def == nil {
		def = &Placement{}
	}
	c.Default, err = compileRule(len(p.Rules), DefaultRuleName, &Match{}, def, poolIndex, &prefs)
	if err != nil {
		return nil, fmt.Errorf("default: %w", err)
	}
	c.Preferences = prefs.selectors
	for _, r := range append(c.Rules, c.Default) {
		if r.Gang == nil {
			r.Gang = c.Default.Gang
		}
		if r.Packing == "" {
			r.Packing = c.Default.Packing
		}
		c.Fragmentation = c.Fragmentation || r.Packing == PackingMinFragmentation
	}
	if err := c.compileWorkload(p); err != nil {
		return nil, err
	}
	return c, nil
}

func compileRule(index int, name string, m *Match, pl *Placement, poolIndex map[string]int, prefs *preferenceIndex) (*CompiledRule, error) {
	r := &CompiledRule{
		Index:      index,
		Name:       name,
		namespaces: append([]string(nil), m.Namespaces...),
		PoolNames:  append([]string(nil), pl.Pools...),
		GPUModels:  append([]string(nil), pl.GPUModels...),
		Packing:    pl.packing(),
	}
	if m.PodSelector != nil {
		sel, err := selectorOf(m.PodSelector)
		if err != nil {
			return nil, fmt.Errorf("match.podSelector: %w", err)
		}
		r.podSelector = sel
	}
	for i, name := range pl.Pools {
		idx, ok := poolIndex[name]
		if !ok {
			return nil, fmt.Errorf("pools[%d]: unknown pool %q", i, name)
		}
		r.Pools.Add(idx)
	}
	if len(pl.GPUModels) > 0 {
		r.gpuModelSet = sets.New(pl.GPUModels...)
	}
	for i, pref := range pl.Preferred {
		sel, err := selectorOf(pref.NodeSelector)
		if err != nil {
			return nil, fmt.Errorf("preferred[%d].nodeSelector: %w", i, err)
		}
		r.Preferred = append(r.Preferred, CompiledPreference{Weight: int64(pref.Weight), Selector: sel, Index: prefs.add(sel)})
		r.PreferredSum += int64(pref.Weight)
	}
	if pl.Colocate != nil {
		c := *pl.Colocate
		r.Colocate = &c
	}
	if g := pl.Gang; g != nil {
		r.Gang = &CompiledGang{Required: g.Required, TopologyKey: g.TopologyKey,
			TopologyRequired: g.TopologyKey != "" && g.Topology != GangTopologyPreferred}
	}
	return r, nil
}

// preferenceIndex numbers the distinct preferred selectors of a policy's
// rules, so a node's matches are computed once, when it is classified, and
// Score tests a bit instead of matching labels for every pod and node.
type preferenceIndex struct {
	selectors []labels.Selector
	byString  map[string]int
}

// add returns sel's index, -1 once MaxPreferences distinct selectors are numbered.
func (x *preferenceIndex) add(sel labels.Selector) int {
	key := sel.String()
	if i, ok := x.byString[key]; ok {
		return i
	}
	if len(x.selectors) == MaxPreferences {
		return -1
	}
	if x.byString == nil {
		x.byString = map[string]int{}
	}
	x.byString[key] = len(x.selectors)
	x.selectors = append(x.selectors, sel)
	return len(x.selectors) - 1
}

func selectorOf(ls *metav1.LabelSelector) (labels.Selector, error) {
	if ls == nil {
		return labels.Everything(), nil
	}
	return metav1.LabelSelectorAsSelector(ls)
}

// Load decodes, defaults, validates and compiles a policy document. The
// error of an invalid document lists every problem with its field path.
func Load(data []byte) (*Compiled, error) {
	p, err := Decode(data)
	var strict *StrictDecodingError
	if errors.As(err, &strict) {
		SetDefaults(strict.Partial)
		if errs := Validate(strict.Partial); len(errs) > 0 {
			return nil, fmt.Errorf("%w; %v", err, errs.ToAggregate())
		}
	}
	if err != nil {
		return nil, err
	}
	SetDefaults(p)
	if errs := Validate(p); len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	return Compile(p)
}

// packing is the placement's packing mode, read from gpuPacking (its former
// name) when packing is unset.
func (pl *Placement) packing() PackingMode {
	if pl.Packing != "" {
		return pl.Packing
	}
	return pl.GPUPacking
}
