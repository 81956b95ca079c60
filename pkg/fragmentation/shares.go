package fragmentation

// GPUs shared by fractions (DRA devices with consumable capacity), after
// FGD's own setting: a node's free GPU capacity is its wholly free GPUs and
// the free thousandths of its partly used ones. For a shape that cannot be
// placed on the node all of it is fragmented; for a whole-GPU shape that
// can, the partly used GPUs are (it takes whole GPUs only); for a shape
// sharing one GPU that can, the GPUs with less free than it asks are.

// MilliPerGPU is one whole GPU in the thousandths Shares and MilliGPU count.
const MilliPerGPU = 1000

// MaxDevices is how many GPUs of one node Shares tracks one by one.
const MaxDevices = 16

// Shares are a node's GPUs in the order the DRA allocator tries them, each
// with its free thousandths (MilliPerGPU: wholly free, 0: fully used).
type Shares struct {
	N    uint8
	Free [MaxDevices]uint16
}

// Set records device i's free thousandths.
func (s *Shares) Set(i int, free int64) { s.Free[i] = uint16(min(max(free, 0), MilliPerGPU)) }

// Whole counts the wholly free GPUs.
func (s *Shares) Whole() int64 {
	var n int64
	for i := 0; i < int(s.N); i++ {
		if s.Free[i] == MilliPerGPU {
			n++
		}
	}
	return n
}

// partial sums the free thousandths of partly used GPUs, and gives the
// largest such free share.
func (s *Shares) partial() (sum, largest int64) {
	for i := 0; i < int(s.N); i++ {
		v := s.Free[i]
		if v == 0 || v == MilliPerGPU {
			continue
		}
		sum += int64(v)
		largest = max(largest, int64(v))
	}
	return sum, largest
}

// take places pod on f as the DRA allocator does, first fit in device
// order: a share on the first GPU with enough free, whole GPUs on the first
// wholly free ones. A node without Shares counts whole GPUs only.
func take(f Free, pod *Shape) Free {
	f.MilliCPU -= pod.MilliCPU
	f.Memory -= pod.Memory
	if f.Shares.N == 0 {
		n := pod.GPUs
		if pod.MilliGPU > 0 {
			n = 1
		}
		f.GPUs = max(f.GPUs-n, 0)
		return f
	}
	if pod.MilliGPU > 0 {
		for i := 0; i < int(f.Shares.N); i++ {
			if int64(f.Shares.Free[i]) >= pod.MilliGPU {
				f.Shares.Free[i] -= uint16(pod.MilliGPU)
				break
			}
		}
	} else {
		n := pod.GPUs
		for i := 0; i < int(f.Shares.N) && n > 0; i++ {
			if f.Shares.Free[i] == MilliPerGPU {
				f.Shares.Free[i] = 0
				n--
			}
		}
	}
	f.GPUs = f.Shares.Whole()
	return f
}

// sharedFragmentation is Fragmentation for a node with shared GPUs or a
// workload with sharing shapes, in GPUs.
func (w *Workload) sharedFragmentation(f *Free) float64 {
	whole := f.GPUs
	if f.Shares.N > 0 {
		whole = f.Shares.Whole()
	}
	sum, largest := f.Shares.partial()
	total := float64(whole) + float64(sum)/MilliPerGPU
	if total <= 0 {
		return 0
	}
	if w == nil {
		return total
	}
	g := *f
	g.GPUs = whole
	// Whole-GPU shapes that fit use the wholly free GPUs only.
	frag := total - w.usable(&g)*float64(whole)
	if len(w.frac) == 0 {
		return max(frag, 0)
	}
	// Sharing shapes come least MilliGPU first: with the partly used GPUs'
	// free shares sorted, the shares below each shape are a running sum.
	var sorted [MaxDevices]uint16
	k := 0
	for i := 0; i < int(f.Shares.N); i++ {
		if v := f.Shares.Free[i]; v != 0 && v != MilliPerGPU {
			j := k
			for ; j > 0 && sorted[j-1] > v; j-- {
				sorted[j] = sorted[j-1]
			}
			sorted[j] = v
			k++
		}
	}
	var below int64
	next := 0
	for i := range w.frac {
		s := &w.frac[i]
		for next < k && int64(sorted[next]) < s.MilliGPU {
			below += int64(sorted[next])
			next++
		}
		if s.MilliCPU > f.MilliCPU || s.Memory > f.Memory || s.Models&f.Model == 0 {
			continue
		}
		if whole == 0 && largest < s.MilliGPU {
			continue
		}
		frag -= s.p * (total - float64(below)/MilliPerGPU)
	}
	return max(frag, 0)
}

// sharedDelta is Delta for a node with shared GPUs, a pod sharing a GPU or a
// workload with sharing shapes.
func (w *Workload) sharedDelta(f *Free, pod *Shape) float64 {
	after := take(*f, pod)
	return w.sharedFragmentation(&after) - w.sharedFragmentation(f)
}
