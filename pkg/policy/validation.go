package policy

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// MaxRules bounds the number of rules (MaxPools bounds the pools), so a
// compiled policy stays small and matching a pod stays cheap.
const MaxRules = 1000

// MaxPreferenceWeight is the largest weight of a preferred node selector.
const MaxPreferenceWeight = 100

// standardResources are resources Kubernetes itself accounts for; none of
// them can be a GPU.
var standardResources = []string{"cpu", "memory", "ephemeral-storage", "pods", "storage"}

var supportedPacking = []PackingMode{PackingBinPack, PackingSpread, PackingMinFragmentation}

var supportedOperators = []metav1.LabelSelectorOperator{
	metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn,
	metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist,
}

// Validate checks a defaulted policy (see SetDefaults) and returns every
// problem found, each with its field path, e.g.
// `rules[1].pools[0]: Not found: "a10"`. apiVersion and kind are checked by
// Decode, not here.
func Validate(p *PlacementPolicy) field.ErrorList {
	if p == nil {
		return field.ErrorList{field.Required(nil, "a placement policy")}
	}
	var errs field.ErrorList
	errs = append(errs, validateGPUResources(p.GPUResources, field.NewPath("gpuResources"))...)
	errs = append(errs, validateLabelKey(p.GPUModelLabel, field.NewPath("gpuModelLabel"))...)
	pools := newPoolNames(p.Pools)
	errs = append(errs, validatePools(p.Pools, field.NewPath("pools"))...)
	errs = append(errs, validateRules(p.Rules, pools, field.NewPath("rules"))...)
	if p.Default != nil {
		errs = append(errs, validatePlacement(p.Default, pools, field.NewPath("default"))...)
	}
	errs = append(errs, validateCPUSpill(p, field.NewPath("cpuSpill"))...)
	errs = append(errs, validateExpectedShapes(p.ExpectedShapes, field.NewPath("expectedShapes"))...)
	errs = append(errs, validateDRAGPUs(p.DRAGPUs, field.NewPath("draGPUs"))...)
	return errs
}

func validateGPUResources(resources []string, path *field.Path) field.ErrorList {
	if len(resources) == 0 {
		return field.ErrorList{field.Required(path, "at least one GPU resource, e.g. "+DefaultGPUResource)}
	}
	return validateList(resources, path, func(p *field.Path, r string) field.ErrorList {
		if msgs := content.IsLabelKey(r); len(msgs) > 0 {
			return invalidEach(p, r, msgs)
		}
		switch {
		case slices.Contains(standardResources, r) || strings.HasPrefix(r, "hugepages-"):
			return field.ErrorList{field.Invalid(p, r, "is a standard resource, not a GPU; name an extended resource such as "+DefaultGPUResource)}
		case strings.HasPrefix(r, "requests."):
			return field.ErrorList{field.Invalid(p, r, "is a quota name; name the resource itself, such as "+DefaultGPUResource)}
		case !strings.Contains(r, "/"):
			return field.ErrorList{field.Invalid(p, r, "must be an extended resource name with a domain prefix, such as "+DefaultGPUResource)}
		case strings.Contains(r, "kubernetes.io/"):
			return field.ErrorList{field.Invalid(p, r, "must not use the kubernetes.io domain, which is reserved for standard resources")}
		}
		return nil
	})
}

func validatePools(pools []Pool, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(pools) > MaxPools {
		errs = append(errs, field.TooMany(path, len(pools), MaxPools))
	}
	seen := make(map[string]bool, len(pools))
	for i := range pools {
		pool, pp := &pools[i], path.Index(i)
		if seen[pool.Name] {
			errs = append(errs, field.Duplicate(pp.Child("name"), pool.Name))
		} else {
			errs = append(errs, validateName(pool.Name, pp.Child("name"))...)
		}
		if pool.Name != "" {
			seen[pool.Name] = true
		}
		if pool.NodeSelector == nil {
			errs = append(errs, field.Required(pp.Child("nodeSelector"), "a label selector choosing the pool's nodes ({} selects every node)"))
		} else {
			errs = append(errs, validateSelector(pool.NodeSelector, pp.Child("nodeSelector"))...)
		}
		errs = append(errs, validateList(pool.OwnerNamespaces, pp.Child("ownerNamespaces"), dns1123Label)...)
	}
	return errs
}

func validateRules(rules []Rule, pools poolNames, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(rules) > MaxRules {
		errs = append(errs, field.TooMany(path, len(rules), MaxRules))
	}
	seen := make(map[string]bool, len(rules))
	for i := range rules {
		rule, rp := &rules[i], path.Index(i)
		np := rp.Child("name")
		switch {
		case rule.Name == DefaultRuleName:
			errs = append(errs, field.Invalid(np, rule.Name, "is reserved for the default placement; configure it under `default`"))
		case seen[rule.Name]:
			errs = append(errs, field.Duplicate(np, rule.Name))
		default:
			errs = append(errs, validateName(rule.Name, np)...)
		}
		if rule.Name != "" {
			seen[rule.Name] = true
		}
		mp := rp.Child("match")
		errs = append(errs, validateList(rule.Match.Namespaces, mp.Child("namespaces"), dns1123Label)...)
		if rule.Match.PodSelector != nil {
			errs = append(errs, validateSelector(rule.Match.PodSelector, mp.Child("podSelector"))...)
		}
		errs = append(errs, validatePlacement(&rule.Placement, pools, rp)...)
	}
	return errs
}

// validatePlacement checks a rule's placement or the default one; path is
// the rule's (the placement is inline) or "default".
func validatePlacement(pl *Placement, pools poolNames, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateList(pl.Pools, path.Child("pools"), func(p *field.Path, name string) field.ErrorList {
		if pools.has(name) {
			return nil
		}
		nf := field.NotFound(p, name)
		nf.Detail = pools.describe()
		return field.ErrorList{nf}
	})...)
	errs = append(errs, validateList(pl.GPUModels, path.Child("gpuModels"), func(p *field.Path, m string) field.ErrorList {
		return invalidEach(p, m, content.IsLabelValue(m))
	})...)
	switch {
	case pl.GPUPacking != "" && pl.Packing != "" && pl.GPUPacking != pl.Packing:
		errs = append(errs, field.Invalid(path.Child("gpuPacking"), pl.GPUPacking,
			fmt.Sprintf("conflicts with packing %q; gpuPacking is packing's former name: set only packing", pl.Packing)))
	case pl.GPUPacking != "" && !slices.Contains(supportedPacking, pl.GPUPacking):
		errs = append(errs, field.NotSupported(path.Child("gpuPacking"), pl.GPUPacking, supportedPacking))
	case pl.Packing != "" && !slices.Contains(supportedPacking, pl.Packing):
		errs = append(errs, field.NotSupported(path.Child("packing"), pl.Packing, supportedPacking))
	}
	for i, pref := range pl.Preferred {
		pp := path.Child("preferred").Index(i)
		if pref.Weight < 1 || pref.Weight > MaxPreferenceWeight {
			errs = append(errs, field.Invalid(pp.Child("weight"), pref.Weight,
				fmt.Sprintf("must be between 1 and %d, inclusive", MaxPreferenceWeight)))
		}
		if pref.NodeSelector == nil {
			errs = append(errs, field.Required(pp.Child("nodeSelector"), "a label selector choosing the preferred nodes"))
		} else {
			errs = append(errs, validateSelector(pref.NodeSelector, pp.Child("nodeSelector"))...)
		}
	}
	if c := pl.Colocate; c != nil {
		cp := path.Child("colocate")
		errs = append(errs, validateLabelKey(c.JobLabel, cp.Child("jobLabel"))...)
		errs = append(errs, validateLabelKey(c.TopologyKey, cp.Child("topologyKey"))...)
	}
	if g := pl.Gang; g != nil {
		errs = append(errs, validateGang(g, path.Child("gang"))...)
	}
	return errs
}

func validateGang(g *GangPolicy, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if g.TopologyKey != "" {
		errs = append(errs, validateLabelKey(g.TopologyKey, path.Child("topologyKey"))...)
	}
	switch g.Topology {
	case "":
	case GangTopologyRequired, GangTopologyPreferred:
		if g.TopologyKey == "" {
			errs = append(errs, field.Required(path.Child("topologyKey"), fmt.Sprintf("topology %s needs the node label whose values are the domains", g.Topology)))
		}
	default:
		errs = append(errs, field.NotSupported(path.Child("topology"), g.Topology, []GangTopology{GangTopologyRequired, GangTopologyPreferred}))
	}
	return errs
}

// validateSelector checks a label selector the way the API server checks one,
// reports an unknown operator as Unsupported, and makes sure the selector
// converts, as Compile will convert it.
func validateSelector(sel *metav1.LabelSelector, path *field.Path) field.ErrorList {
	errs := metav1validation.ValidateLabels(sel.MatchLabels, path.Child("matchLabels"))
	opts := metav1validation.LabelSelectorValidationOptions{AllowUnknownOperatorInRequirement: true}
	for i, expr := range sel.MatchExpressions {
		ep := path.Child("matchExpressions").Index(i)
		switch {
		case expr.Operator == "":
			errs = append(errs, field.Required(ep.Child("operator"), "one of In, NotIn, Exists, DoesNotExist"))
		case !slices.Contains(supportedOperators, expr.Operator):
			errs = append(errs, field.NotSupported(ep.Child("operator"), expr.Operator, supportedOperators))
		}
		errs = append(errs, metav1validation.ValidateLabelSelectorRequirement(expr, opts, ep)...)
	}
	if len(errs) == 0 {
		if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
			errs = append(errs, field.Invalid(path, sel, err.Error()))
		}
	}
	return errs
}

// validateList checks each item of a list of names: present, valid according
// to check, and not repeated.
func validateList(items []string, path *field.Path, check func(*field.Path, string) field.ErrorList) field.ErrorList {
	var errs field.ErrorList
	seen := make(map[string]bool, len(items))
	for i, item := range items {
		ip := path.Index(i)
		switch {
		case item == "":
			errs = append(errs, field.Required(ip, "must not be empty"))
		case seen[item]:
			errs = append(errs, field.Duplicate(ip, item))
		default:
			errs = append(errs, check(ip, item)...)
		}
		seen[item] = true
	}
	return errs
}

// validateName checks a pool or rule name: required, a DNS-1123 label.
func validateName(name string, path *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	return dns1123Label(path, name)
}

func dns1123Label(path *field.Path, s string) field.ErrorList {
	return invalidEach(path, s, content.IsDNS1123Label(s))
}

func validateLabelKey(key string, path *field.Path) field.ErrorList {
	if key == "" {
		return field.ErrorList{field.Required(path, "a label key")}
	}
	return metav1validation.ValidateLabelName(key, path)
}

func invalidEach(path *field.Path, value string, msgs []string) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range msgs {
		errs = append(errs, field.Invalid(path, value, msg))
	}
	return errs
}

// poolNames are the names the pools define, in order, for checking the
// references placements make to them.
type poolNames struct {
	set   map[string]bool
	order []string
}

func newPoolNames(pools []Pool) poolNames {
	n := poolNames{set: make(map[string]bool, len(pools))}
	for _, p := range pools {
		if p.Name != "" && !n.set[p.Name] {
			n.set[p.Name] = true
			n.order = append(n.order, p.Name)
		}
	}
	return n
}

func (n poolNames) has(name string) bool { return n.set[name] }

// describe lists the defined pools for a "Not found" error.
func (n poolNames) describe() string {
	if len(n.order) == 0 {
		return "no pools are defined"
	}
	const show = 10
	quoted := make([]string, 0, show)
	for _, name := range n.order[:min(show, len(n.order))] {
		quoted = append(quoted, fmt.Sprintf("%q", name))
	}
	s := "defined pools: " + strings.Join(quoted, ", ")
	if more := len(n.order) - show; more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	return s
}
