// Package explain says why a pod went where it went, or why it is pending,
// in policy terms: what the scheduler recorded on the pod, and a re-run of
// that one pod's scheduling cycle through the scheduler's own framework and
// profile on a snapshot of the cluster (kubectl mlsched explain pod).
package explain

// Explanation is the answer for one pod.
type Explanation struct {
	// Pod is namespace/name.
	Pod           string `json:"pod"`
	SchedulerName string `json:"schedulerName"`
	// State is StatePlaced or StatePending.
	State string `json:"state"`
	// Node is the node a placed pod is bound to.
	Node string `json:"node,omitempty"`

	// Rule and PolicyHash are what the scheduler recorded on a placed pod
	// (annotations ml-scheduler.io/rule and ml-scheduler.io/policy-hash).
	Rule       string `json:"rule,omitempty"`
	PolicyHash string `json:"policyHash,omitempty"`
	// ActivePolicyHash is the policy in force, as the scheduler reports it
	// on the policy ConfigMap (ml-scheduler.io/active-policy-hash).
	ActivePolicyHash string `json:"activePolicyHash,omitempty"`
	// PlacedByActivePolicy, for a placed pod: PolicyHash is the policy in force.
	PlacedByActivePolicy *bool `json:"placedByActivePolicy,omitempty"`
	// Condition is the message of a pending pod's PodScheduled condition.
	Condition string `json:"podScheduledMessage,omitempty"`

	// Simulation is the re-run of the pod's cycle.
	Simulation Simulation `json:"simulation"`
}

// States of Explanation.State.
const (
	StatePlaced  = "placed"
	StatePending = "pending"
)

// Simulation is what the re-run of the pod's scheduling cycle found.
type Simulation struct {
	// Policy is the hash of the policy re-run with, PolicySource where it
	// was read, MatchedRule the rule the pod matches under it.
	Policy       string `json:"policy,omitempty"`
	PolicySource string `json:"policySource,omitempty"`
	MatchedRule  string `json:"matchedRule,omitempty"`
	// SchedulerConfig says which configuration built the framework.
	SchedulerConfig string `json:"schedulerConfig"`
	Nodes           int    `json:"nodes"`
	FeasibleNodes   int    `json:"feasibleNodes"`
	// Candidates are the best feasible nodes, best first.
	Candidates []Candidate `json:"candidates,omitempty"`
	// PlacedRank is the rank (1 = best) of a placed pod's node among all
	// feasible nodes; 0 when it is not feasible in the re-run.
	PlacedRank int `json:"placedNodeRank,omitempty"`
	// Reasons count the infeasible nodes per reason, most nodes first.
	Reasons []ReasonCount `json:"reasons,omitempty"`
	// Nearest is the node that comes closest to fitting among those the
	// policy admits, for a pod no node fits.
	Nearest *Nearest `json:"nearest,omitempty"`
	// Notes are caveats of the re-run.
	Notes []string `json:"notes,omitempty"`
}

// Candidate is a feasible node with the scores that ranked it.
type Candidate struct {
	Rank int    `json:"rank"`
	Node string `json:"node"`
	// Total is the sum of Scores, as the scheduler ranks nodes.
	Total int64 `json:"total"`
	// Scores are the score plugins' normalized, weighted scores.
	Scores []PluginScore `json:"scores"`
	// MLPolicy are the MLPolicy plugin's parts (unweighted, 0..100).
	MLPolicy *MLPolicyParts `json:"mlPolicy,omitempty"`
}

// PluginScore is one score plugin's weighted score of a node.
type PluginScore struct {
	Plugin string `json:"plugin"`
	Score  int64  `json:"score"`
}

// MLPolicyParts are MLPolicy's score parts of a node, each 0..100; a nil
// part is off for the pod's rule. The plugin's score is their mean.
type MLPolicyParts struct {
	// Packing is the rule's packing mode (BinPack, Spread, MinFragmentation).
	Packing     string `json:"packing,omitempty"`
	PackingPart *int64 `json:"packingPart,omitempty"`
	Preference  *int64 `json:"preference,omitempty"`
	Colocation  *int64 `json:"colocation,omitempty"`
}

// ReasonCount is how many nodes were refused for one reason.
type ReasonCount struct {
	Nodes  int    `json:"nodes"`
	Reason string `json:"reason"`
	// Plugin is the plugin that refused them.
	Plugin string `json:"plugin,omitempty"`
	// Policy: the refusal is the placement policy's (MLPolicy).
	Policy bool `json:"policy"`
	// Examples name up to three of the nodes.
	Examples []string `json:"examples,omitempty"`
}

// Nearest is a node short of fitting the pod, and what it lacks.
type Nearest struct {
	Node string `json:"node"`
	// Lacks are the resources it is short of.
	Lacks []Lack `json:"lacks,omitempty"`
	// Other are its refusals that are not a shortfall (taints, affinity, ...).
	Other []string `json:"other,omitempty"`
}

// Lack is a shortfall of one resource.
type Lack struct {
	Resource string `json:"resource"`
	// Amount is what is missing, as a quantity (e.g. "2", "8", "16Gi").
	Amount string `json:"amount"`
}
