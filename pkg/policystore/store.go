// Package policystore holds the placement policy in force. A swap replaces
// one immutable *policy.Compiled with another through an atomic pointer, so a
// scheduling cycle that read the policy once sees one policy throughout, and
// Filter calls never take a lock.
package policystore

import (
	"sync"
	"sync/atomic"

	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

// Active is the policy in force with its generation, which counts swaps
// since start (1 is the first policy). Never modified once published.
type Active struct {
	Policy     *policy.Compiled
	Generation int64
	// Source says where the policy came from, e.g. "configmap ml-scheduler/ml-scheduler-policy".
	Source string
}

// Store publishes the active policy and tells subscribers of each swap.
type Store struct {
	active atomic.Pointer[Active]

	mu          sync.Mutex
	generation  int64
	subscribers []func(*Active)
}

// New returns an empty store: Load returns nil until the first Swap.
func New() *Store { return &Store{} }

// Load returns the policy in force, or nil if no valid policy was ever loaded.
func (s *Store) Load() *Active { return s.active.Load() }

// Swap puts p in force and notifies subscribers, in order, before returning.
// Swaps are serialised so generations are strictly increasing.
func (s *Store) Swap(p *policy.Compiled, source string) *Active {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.generation++
	a := &Active{Policy: p, Generation: s.generation, Source: source}
	s.active.Store(a)
	policyGeneration.Set(float64(a.Generation))
	policyInfo.Reset()
	policyInfo.WithLabelValues(p.Hash()).Set(1)
	for _, fn := range s.subscribers {
		fn(a)
	}
	return a
}

// Subscribe registers fn to run after every swap (under the swap's lock, so
// calls are ordered). If a policy is already active fn runs once now.
func (s *Store) Subscribe(fn func(*Active)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subscribers = append(s.subscribers, fn)
	if a := s.active.Load(); a != nil {
		fn(a)
	}
}
