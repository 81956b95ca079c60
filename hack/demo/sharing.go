package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
	"github.com/ml-scheduler/ml-scheduler/pkg/gpudra"
	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

// The GPU-sharing step adds a dedicated pair of nodes whose GPUs a DRA
// driver publishes (ResourceSlices, no nvidia.com/gpu in allocatable), so
// the earlier steps' nodes and pods stay as they were. Only the T4 node is
// in the policy's inference pool; the G2 node is one the inference rule
// must not use.
var sharingNodes = []cluster.NodeSpec{
	{Name: "t4-dra-0", CPU: "104", Memory: "512Gi", GPUs: 2, Labels: map[string]string{
		labelModel: "T4", labelZone: "zone-b", labelRack: "rack-b3"}},
	{Name: "g2-dra-0", CPU: "96", Memory: "384Gi", GPUs: 2, Labels: map[string]string{
		labelModel: "G2", labelZone: "zone-b", labelRack: "rack-b3"}},
}

// sharingPod is an inference pod that asks a share of one GPU.
type sharingPod struct {
	name  string
	milli int64
}

var sharingPods = []sharingPod{{"lite-0", 500}, {"lite-1", 250}, {"lite-2", 250}}

const sharingNamespace = "serving"

// sharingLabels make the pods inference pods, matched by the policy's
// inference rule.
var sharingLabels = map[string]string{"ml-scheduler.io/workload": "inference", "app": "lite"}

// sharing publishes the DRA GPUs, submits the share pods, prints where each
// got which share of which GPU (from its claim's status) and records a
// violation for each pod not where the policy in force (pf) admits it.
func (d *demo) sharing(ctx context.Context, pf *policyFile) error {
	began := time.Now()
	if err := cluster.CreateDRANodes(ctx, d.client, sharingNodes); err != nil {
		return err
	}
	fmt.Printf("  DeviceClass %s (driver %s, serves %s) and one ResourceSlice per node:\n", gpudra.DeviceClassName, gpudra.Driver, gpudra.ExtendedResource)
	for _, n := range sharingNodes {
		fmt.Printf("    %s: %d x %s, each a device with allowMultipleAllocations and capacity %s: 1; no %s in its allocatable\n",
			gpudra.SliceName(n.Name), n.GPUs, n.Labels[labelModel], gpudra.ShareCapacity, gpudra.ExtendedResource)
	}
	for _, p := range sharingPods {
		s := cluster.PodSpec{Name: p.name, Namespace: sharingNamespace, Labels: sharingLabels, CPU: "2", Memory: "8Gi"}
		if _, err := cluster.CreateSharePod(ctx, d.client, s, p.milli); err != nil {
			return err
		}
		fmt.Printf("  %s/%s asks %s: ResourceClaim %s requests %s: %dm\n",
			sharingNamespace, p.name, milliGPU(p.milli), cluster.ShareClaimName(p.name), gpudra.ShareCapacity, p.milli)
	}

	c, err := policy.Load([]byte(pf.text))
	if err != nil {
		return fmt.Errorf("%s: %w", pf.name, err)
	}
	admitted := admittedDRANodes(c)
	probe := &v1.Pod{}
	probe.Namespace, probe.Labels = sharingNamespace, sharingLabels
	if r := c.Match(probe); r != nil {
		fmt.Printf("  %s matches their labels: pools %v, gpuModels %v; of the DRA nodes it admits %s\n",
			"rule "+r.Name, r.PoolNames, r.GPUModels, strings.Join(keys(admitted[r.Name]), ", "))
	}
	type result struct {
		p     sharingPod
		node  string
		rule  string
		share cluster.DeviceShare
	}
	var results []result
	var bad []string
	for _, p := range sharingPods {
		pod, shares, err := cluster.WaitPodShares(ctx, d.client, sharingNamespace, p.name, placeTimeout)
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		r := result{p: p, node: pod.Spec.NodeName}
		if pl, err := cluster.PlacementOf(ctx, d.client, pod, placementTimeout); err != nil {
			bad = append(bad, err.Error())
		} else {
			r.rule = pl.Rule
		}
		if len(shares) == 1 {
			r.share = shares[0]
		} else {
			bad = append(bad, fmt.Sprintf("%s/%s holds %d GPU devices, want 1", sharingNamespace, p.name, len(shares)))
		}
		rule := c.Match(pod)
		switch {
		case r.rule != rule.Name:
			bad = append(bad, fmt.Sprintf("%s/%s placed by rule %q, the policy matches it to %q", sharingNamespace, p.name, r.rule, rule.Name))
		case !admitted[rule.Name][r.node]:
			bad = append(bad, fmt.Sprintf("%s/%s on %s, which rule %s does not admit (it admits %s)",
				sharingNamespace, p.name, r.node, rule.Name, strings.Join(keys(admitted[rule.Name]), ", ")))
		case r.share.Share.MilliValue() != p.milli:
			bad = append(bad, fmt.Sprintf("%s/%s consumes %s of %s, want %dm", sharingNamespace, p.name, r.share.Share.String(), r.share.Device, p.milli))
		}
		results = append(results, r)
	}

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  POD\tASKS\tNODE\tGPU MODEL\tDEVICE\tCONSUMED (claim status)\tRULE")
	used := map[string]*resource.Quantity{} // node/device -> consumed share
	claims := map[string]int{}              // node/device -> claims
	for _, r := range results {
		model := ""
		for _, n := range sharingNodes {
			if n.Name == r.node {
				model = n.Labels[labelModel]
			}
		}
		fmt.Fprintf(tw, "  %s/%s\t%s\t%s\t%s\t%s\t%s: %s\t%s\n", sharingNamespace, r.p.name, milliGPU(r.p.milli),
			r.node, model, r.share.Device, gpudra.ShareCapacity, r.share.Share.String(), r.rule)
		if r.share.Device == "" {
			continue
		}
		k := r.node + "/" + r.share.Device
		if used[k] == nil {
			used[k] = resource.NewMilliQuantity(0, resource.DecimalSI)
		}
		used[k].Add(r.share.Share)
		claims[k]++
	}
	_ = tw.Flush()
	var gpus int64
	for _, n := range sharingNodes {
		gpus += n.GPUs
	}
	for _, k := range keys(used) {
		fmt.Printf("  %s: %s: %s of 1 consumed by %d claims\n", k, gpudra.ShareCapacity, used[k].String(), claims[k])
		if used[k].Cmp(resource.MustParse("1")) > 0 {
			bad = append(bad, fmt.Sprintf("%s: %s consumed, more than the whole GPU", k, used[k].String()))
		}
	}
	fmt.Printf("  %d pods share %d of the %d DRA GPUs; %d left whole  (settled in %s)\n",
		len(results), len(used), gpus, gpus-int64(len(used)), time.Since(began).Round(time.Millisecond))
	for _, b := range bad {
		fmt.Printf("  FAIL %s\n", b)
	}
	if len(bad) == 0 {
		fmt.Printf("  OK: every share pod is on a node the policy admits for its rule, consuming what its claim asks\n")
	}
	d.violations = append(d.violations, bad...)
	return nil
}

// admittedDRANodes returns, per rule name, the sharing nodes the policy
// admits for a pod of that rule asking a GPU, as the policy package judges
// them (pools, GPU models, ownership; the node's GPUs are its devices).
func admittedDRANodes(c *policy.Compiled) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	owned := c.OwnedBy(sharingNamespace)
	for i := 0; i <= c.RuleCount(); i++ {
		r := c.RuleByIndex(i)
		out[r.Name] = map[string]bool{}
		for _, s := range sharingNodes {
			n := &v1.Node{}
			n.Name, n.Labels = s.Name, s.Labels
			nc := c.Classify(n)
			nc.GPUs = s.GPUs
			if c.Admits(r, &nc, true, &owned) == policy.VerdictOK {
				out[r.Name][s.Name] = true
			}
		}
	}
	return out
}

// milliGPU renders thousandths of a GPU as "0.25 GPU".
func milliGPU(m int64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", float64(m)/1000), "0"), ".") + " GPU"
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
