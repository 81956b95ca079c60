package explain

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/ml-scheduler/ml-scheduler/pkg/livecluster"
	"github.com/ml-scheduler/ml-scheduler/pkg/plugins/mlpolicy"
	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
	"github.com/ml-scheduler/ml-scheduler/pkg/policywatch"
)

// DefaultTop is how many candidate nodes are shown by default.
const DefaultTop = 5

// Input is what Explain judges.
type Input struct {
	Config  *Config
	Cluster *livecluster.State
	// Pod is the pod as read from the API.
	Pod *v1.Pod
	// Policy, when set, is re-run instead of the ConfigMap's text;
	// PolicySource names it (e.g. "file new.yaml").
	Policy       []byte
	PolicySource string
	// Top is how many candidates to list (DefaultTop if 0).
	Top int
}

// Explain explains in.Pod: what the scheduler recorded on it, and a re-run
// of its scheduling cycle on the cluster without it.
func Explain(ctx context.Context, in Input) (*Explanation, error) {
	pod := in.Pod
	if in.Top <= 0 {
		in.Top = DefaultTop
	}
	prof, err := in.Config.Profile(pod.Spec.SchedulerName)
	if err != nil {
		return nil, err
	}
	args, err := in.Config.MLPolicyArgs(prof)
	if err != nil {
		return nil, err
	}
	e := &Explanation{
		Pod:              pod.Namespace + "/" + pod.Name,
		SchedulerName:    pod.Spec.SchedulerName,
		State:            StatePending,
		ActivePolicyHash: in.Cluster.ActiveHash,
		Condition:        scheduledMessage(pod),
	}
	e.Simulation.SchedulerConfig = in.Config.Source
	if pod.Spec.NodeName != "" {
		e.State, e.Node = StatePlaced, pod.Spec.NodeName
		e.Rule, e.PolicyHash = pod.Annotations[mlpolicy.AnnotationRule], pod.Annotations[mlpolicy.AnnotationPolicyHash]
		inForce := e.PolicyHash != "" && e.PolicyHash == e.ActivePolicyHash
		e.PlacedByActivePolicy = &inForce
		e.Condition = ""
	}

	var compiled *policy.Compiled
	var text []byte
	if args != nil {
		if args.PolicyConfigMapName == "" {
			return nil, fmt.Errorf("profile %q: the %s args name no policyConfigMap: explain re-runs the policy of the ConfigMap (or of --policy) only", pod.Spec.SchedulerName, mlpolicy.Name)
		}
		text, e.Simulation.PolicySource = in.Policy, in.PolicySource
		if text == nil {
			if !in.Cluster.PolicyFound {
				return nil, fmt.Errorf("policy ConfigMap %s has no key %s (give --policy FILE)", in.Cluster.PolicyRef, in.Cluster.PolicyKey)
			}
			text, e.Simulation.PolicySource = in.Cluster.Policy, "ConfigMap "+in.Cluster.PolicyRef
		}
		compiled, err = policy.Load(text)
		if err != nil {
			return nil, fmt.Errorf("placement policy (%s): %w", e.Simulation.PolicySource, err)
		}
		e.Simulation.Policy = compiled.Hash()
		e.Simulation.MatchedRule = compiled.Match(pod).Name
		if in.Policy == nil && in.Cluster.ActiveHash != "" && compiled.Hash() != in.Cluster.ActiveHash {
			note := fmt.Sprintf("the ConfigMap's policy (%s) is not the one in force (%s, annotation %s)", compiled.Hash(), in.Cluster.ActiveHash, policywatch.AnnotationActiveHash)
			if in.Cluster.LastError != "" {
				note += "; the scheduler reports: " + in.Cluster.LastError
			}
			e.Simulation.Notes = append(e.Simulation.Notes, note+": the re-run uses the ConfigMap's text")
		}
	}

	target := pod.DeepCopy()
	target.Spec.NodeName = ""
	cin := cycleInput{cfg: in.Config.KubeSchedulerConfiguration, profile: prof, mlArgs: args, policy: text,
		nodes: in.Cluster.Nodes, pod: target, dra: draObjects(in.Cluster)}
	for _, list := range [][]*v1.Pod{in.Cluster.Running, in.Cluster.Pending} {
		for _, p := range list {
			if p.Namespace != pod.Namespace || p.Name != pod.Name {
				cin.pods = append(cin.pods, p)
			}
		}
	}
	res, err := runCycle(ctx, cin)
	if err != nil {
		return nil, fmt.Errorf("re-running the scheduling cycle of %s: %w", e.Pod, err)
	}
	fill(e, res, compiled, target, in.Top, in.Cluster)
	return e, nil
}

// fill writes the re-run's findings into e.
func fill(e *Explanation, res *cycleResult, compiled *policy.Compiled, pod *v1.Pod, top int, cluster *livecluster.State) {
	sim := &e.Simulation
	sim.Nodes = len(res.nodeInfos)
	sim.FeasibleNodes = len(res.scores)
	var judge *policyJudge
	packing := ""
	if compiled != nil {
		judge = newPolicyJudge(compiled, pod, cluster)
		packing = string(judge.rule.Packing)
	}
	sim.Candidates, sim.PlacedRank = rank(res.scores, res.parts, packing, top, e.Node)
	refused := refusals(res, judge)
	sim.Reasons = countReasons(refused)
	if g := pod.Spec.SchedulingGroup; g != nil && g.PodGroupName != nil {
		sim.Notes = append(sim.Notes, fmt.Sprintf("the pod belongs to PodGroup %s: the scheduler places its gang together (one topology domain, all or none), the re-run judges this pod alone", *g.PodGroupName))
	}
	switch {
	case e.State == StatePlaced:
		sim.Notes = append(sim.Notes, "scores are of the cluster now, with the pod taken off its node, not of the moment it was placed")
		if sim.PlacedRank == 0 {
			sim.Notes = append(sim.Notes, fmt.Sprintf("node %s is not feasible for the pod in the re-run: %s", e.Node, reasonOf(refused, e.Node)))
		}
	case sim.FeasibleNodes > 0:
		sim.Notes = append(sim.Notes, fmt.Sprintf("the pod fits now (%d feasible node(s), best %s): the scheduler places it when it retries", sim.FeasibleNodes, sim.Candidates[0].Node))
	default:
		sim.Nearest = nearest(pod, res.nodeInfos, refused)
		if sim.Nearest == nil && sim.Nodes > 0 {
			sim.Notes = append(sim.Notes, "no node is admitted by the policy: only a policy change (or new nodes it admits) can make the pod schedulable")
		}
	}
}

func reasonOf(refused map[string]refusal, node string) string {
	r, ok := refused[node]
	if !ok {
		return "the node is gone"
	}
	return fmt.Sprintf("%v (%s)", r.reasons, r.plugin)
}

// scheduledMessage is the message of the pod's PodScheduled condition.
func scheduledMessage(pod *v1.Pod) string {
	for _, c := range pod.Status.Conditions {
		if c.Type == v1.PodScheduled && c.Status != v1.ConditionTrue {
			return c.Message
		}
	}
	return ""
}

// draObjects are the cluster's DRA objects for the re-run's API.
func draObjects(s *livecluster.State) []runtime.Object {
	var out []runtime.Object
	for _, o := range s.DeviceClasses {
		out = append(out, o)
	}
	for _, o := range s.ResourceSlices {
		out = append(out, o)
	}
	for _, o := range s.ResourceClaims {
		out = append(out, o)
	}
	return out
}
