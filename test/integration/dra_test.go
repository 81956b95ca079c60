package integration

import (
	"strings"
	"testing"
	"time"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
	"github.com/ml-scheduler/ml-scheduler/pkg/gpudra"
)

// TestDRASharing runs the GPU-sharing cases on the real apiserver, each on
// the stock profile (the default plugins: DynamicResources allocates) and
// on the ML profile (MLPolicy judging DRA GPUs). Nodes publish their GPUs
// as gpudra ResourceSlices (no nvidia.com/gpu in allocatable); a sharing
// pod asks a share of one GPU through its ResourceClaim, a whole-GPU pod
// asks nvidia.com/gpu, which the DeviceClass serves.
func TestDRASharing(t *testing.T) {
	profiles := []struct {
		name  string
		start func(t *testing.T) draProfile
	}{
		{"stock profile", stockProfile},
		{"ml-scheduler profile", mlProfile},
	}
	scenarios := []struct {
		name string
		run  func(t *testing.T, p draProfile)
	}{
		{"two pods share one GPU", twoShareOneGPU},
		{"an overflowing share goes elsewhere or waits", overflowingShare},
		{"a whole-GPU pod avoids a shared GPU", wholeAvoidsShared},
		{"a released claim frees its share", releasedClaimFreesShare},
	}
	for _, pr := range profiles {
		t.Run(pr.name, func(t *testing.T) {
			p := pr.start(t)
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) { sc.run(t, p) })
			}
		})
	}
}

// twoShareOneGPU: 0.5 + 0.4 of the one GPU of a node: both pods bound
// there, both claims allocated that device, consuming 500m and 400m as two
// shares of it.
func twoShareOneGPU(t *testing.T, p draProfile) {
	dc := newDRACase(t, p, "two")
	node := dc.gpuNode("gpu", "NVIDIA-A100", 1, nil)
	dc.share("half", 500, nil)
	dc.share("forty", 400, nil)
	a := dc.boundShare("half", node, 500)
	b := dc.boundShare("forty", node, 400)
	if a.Device != b.Device || a.Device != gpudra.DeviceName(0) {
		t.Fatalf("claims got devices %s and %s, want both %s", a.Device, b.Device, gpudra.DeviceName(0))
	}
	if a.ShareID == "" || b.ShareID == "" || a.ShareID == b.ShareID {
		t.Fatalf("share IDs %q and %q: want two distinct shares of the device", a.ShareID, b.ShareID)
	}
	t.Logf("PROVED (%s): two pods asking 0.5 and 0.4 of a GPU were both bound to %s, their claims allocated the same device: %s (share IDs %s, %s)",
		p.short, node, fmtShares(a, b), a.ShareID, b.ShareID)
}

// overflowingShare: with 0.9 of a GPU taken, a 0.3 share goes to another
// GPU node when there is one, and waits with a reason when there is none.
func overflowingShare(t *testing.T, p draProfile) {
	for _, tt := range []struct {
		name      string
		otherNode bool
	}{
		{"another GPU node", true},
		{"no other GPU node", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			short := "over-none"
			if tt.otherNode {
				short = "over-other"
			}
			dc := newDRACase(t, p, short)
			full := dc.gpuNode("full", "NVIDIA-A100", 1, nil)
			// One after the other. Created together, the 0.4 share was
			// once refused by the stock profile in CI ("cannot allocate
			// all claims" with 0.5 of 1 taken: the first share's in-flight
			// allocation, we suspect, counted twice) and, with no later
			// event to requeue it, waited past the timeout. Two shares
			// placed together are sharing's own test.
			dc.share("half", 500, nil)
			dc.boundShare("half", full, 500)
			dc.share("forty", 400, nil)
			dc.boundShare("forty", full, 400)
			if tt.otherNode {
				// Created after the first two are bound, so they cannot have spread.
				other := dc.gpuNode("other", "NVIDIA-A100", 1, nil)
				dc.share("third", 300, nil)
				d := dc.boundShare("third", other, 300)
				t.Logf("PROVED (%s): with 0.9 of %s's GPU taken, a 0.3 share went to the other GPU node: %s", p.short, full, fmtShares(d))
				return
			}
			dc.share("third", 300, nil)
			msg := dc.waiting("third", "0/1 nodes are available", "cannot allocate all claims")
			t.Logf("PROVED (%s): with 0.9 of the only GPU taken, a 0.3 share waits; its PodScheduled condition says %q", p.short, msg)
		})
	}
}

// wholeAvoidsShared: a pod asking nvidia.com/gpu: 1 (the DeviceClass's
// extended resource) never gets a GPU someone shares: it takes the free GPU
// of another node, or waits.
func wholeAvoidsShared(t *testing.T, p draProfile) {
	for _, tt := range []struct {
		name     string
		freeNode bool
	}{
		{"a free GPU elsewhere", true},
		{"only the shared GPU", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			short := "whole-shared"
			if tt.freeNode {
				short = "whole-free"
			}
			dc := newDRACase(t, p, short)
			shared := dc.gpuNode("shared", "NVIDIA-A100", 1, nil)
			dc.share("half", 500, nil)
			dc.boundShare("half", shared, 500)
			if tt.freeNode {
				free := dc.gpuNode("free", "NVIDIA-A100", 1, nil)
				dc.whole("whole", 1)
				node, d := dc.bound("whole")
				if node != free {
					t.Fatalf("whole-GPU pod placed on %s, want the free GPU's node %s", node, free)
				}
				// A request without a capacity consumes all of it.
				if d.Share.Cmp(*gpuOne()) != 0 {
					t.Fatalf("whole-GPU pod's claim consumes %s of %s, want the whole share 1", d.Share.String(), d.Device)
				}
				t.Logf("PROVED (%s): with %s's only GPU half used by a share pod, a pod asking nvidia.com/gpu: 1 went to the free GPU: its scheduler-made claim %s holds %s", p.short, shared, d.Claim, fmtShares(d))
				return
			}
			dc.whole("whole", 1)
			msg := dc.waiting("whole", "0/1 nodes are available")
			if !strings.Contains(msg, "claim") && !strings.Contains(msg, gpudra.ExtendedResource) {
				t.Fatalf("whole-GPU pod's message names neither a claim nor %s: %q", gpudra.ExtendedResource, msg)
			}
			t.Logf("PROVED (%s): with the only GPU half used by a share pod, a pod asking nvidia.com/gpu: 1 waits; its PodScheduled condition says %q", p.short, msg)
		})
	}
}

// releasedClaimFreesShare: a 0.3 share that did not fit gets the GPU once a
// 0.5 share's pod and claim are gone.
func releasedClaimFreesShare(t *testing.T, p draProfile) {
	dc := newDRACase(t, p, "release")
	node := dc.gpuNode("gpu", "NVIDIA-A100", 1, nil)
	dc.share("half", 500, nil)
	dc.share("forty", 400, nil)
	dc.boundShare("half", node, 500)
	dc.boundShare("forty", node, 400)
	dc.share("third", 300, nil)
	msg := dc.waiting("third", "cannot allocate all claims")
	t.Logf("third pending: %s", msg)

	began := time.Now()
	dc.deletePod("half")
	// No kube-controller-manager runs here: do what its resourceclaim
	// controller would once the pod is gone (drop it from reservedFor,
	// deallocate, remove the finalizer), then delete the claim as its
	// owner would.
	if err := cluster.ReleaseClaim(dc.ctx, dc.c, dc.ns, cluster.ShareClaimName("half")); err != nil {
		t.Fatal(err)
	}
	d := dc.boundShare("third", node, 300)
	took := time.Since(began)
	if d.Device != gpudra.DeviceName(0) {
		t.Fatalf("third got %s, want %s", d.Device, gpudra.DeviceName(0))
	}
	t.Logf("PROVED (%s): a 0.3 share pending beside 0.5 + 0.4 on %s's GPU was bound %v after the 0.5 share's pod was deleted and its claim released: %s",
		p.short, node, took.Round(time.Millisecond), fmtShares(d))
}
