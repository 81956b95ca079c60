package policycheck

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/sets"
)

// keyConstraint is what a label selector demands of one label key, all its
// requirements on that key taken together.
type keyConstraint struct {
	// exists: the key must be present (In or Exists); absent: it must not be.
	exists, absent bool
	// allowed is the intersection of the In value sets; nil: no In.
	allowed sets.Set[string]
	// forbidden is the union of the NotIn value sets.
	forbidden sets.Set[string]
}

// values is the set of values the key may take: allowed minus forbidden
// (only meaningful when allowed is set).
func (k *keyConstraint) values() sets.Set[string] {
	return k.allowed.Difference(k.forbidden)
}

// contradiction says why no label set can satisfy the constraint; "" if one can.
func (k *keyConstraint) contradiction(key string) string {
	switch {
	case k.exists && k.absent:
		return fmt.Sprintf("label %s must both exist and not exist", key)
	case k.allowed != nil && k.values().Len() == 0:
		return fmt.Sprintf("no value of label %s satisfies both its In and its NotIn requirements", key)
	}
	return ""
}

// selectorConstraints are a parsed selector's requirements by key; nil for a
// selector that matches every label set (nil, {} or no requirements).
type selectorConstraints map[string]*keyConstraint

// constraintsOf parses a validated label selector.
func constraintsOf(ls *metav1.LabelSelector) (selectorConstraints, error) {
	if ls == nil {
		return nil, nil
	}
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		return nil, err
	}
	reqs, _ := sel.Requirements()
	if len(reqs) == 0 {
		return nil, nil
	}
	sc := selectorConstraints{}
	for _, r := range reqs {
		k := sc[r.Key()]
		if k == nil {
			k = &keyConstraint{forbidden: sets.New[string]()}
			sc[r.Key()] = k
		}
		addRequirement(k, r)
	}
	return sc, nil
}

func addRequirement(k *keyConstraint, r labels.Requirement) {
	switch r.Operator() {
	case selection.In, selection.Equals, selection.DoubleEquals:
		k.exists = true
		if k.allowed == nil {
			k.allowed = sets.New(r.ValuesUnsorted()...)
		} else {
			k.allowed = k.allowed.Intersection(sets.New(r.ValuesUnsorted()...))
		}
	case selection.NotIn, selection.NotEquals:
		k.forbidden.Insert(r.ValuesUnsorted()...)
	case selection.Exists:
		k.exists = true
	case selection.DoesNotExist:
		k.absent = true
	}
}

// contradiction says why the selector matches no label set at all; "" if it
// can match one.
func (sc selectorConstraints) contradiction() string {
	for _, key := range sets.KeySet(sc).UnsortedList() {
		if why := sc[key].contradiction(key); why != "" {
			return why
		}
	}
	return ""
}

// implies reports whether every label set matching sc also matches other:
// each of other's key constraints follows from sc's constraint on that key.
// It is exact for satisfiable selectors: requirements on different keys are
// independent, so a key sc leaves free can always be set to break other.
func (sc selectorConstraints) implies(other selectorConstraints) bool {
	for key, want := range other {
		if !sc[key].impliesKey(want) {
			return false
		}
	}
	return true
}

// impliesKey reports whether every value (or absence) of a key allowed by
// k is allowed by want. A nil k leaves the key free.
func (k *keyConstraint) impliesKey(want *keyConstraint) bool {
	if k == nil {
		return false // want has at least one requirement, which a free key can break
	}
	if k.absent {
		// The key is absent: want must accept absence (only NotIn and
		// DoesNotExist do).
		return !want.exists && want.allowed == nil
	}
	if want.absent {
		return false // k allows the key to be present
	}
	if want.exists && !k.exists {
		return false
	}
	if want.allowed != nil {
		// want demands a value in want.values(): k must restrict to those.
		return k.allowed != nil && want.values().IsSuperset(k.values())
	}
	// want: NotIn its forbidden values (and maybe Exists, checked above).
	if k.allowed != nil {
		return !k.values().HasAny(want.forbidden.UnsortedList()...)
	}
	return k.forbidden.IsSuperset(want.forbidden)
}
