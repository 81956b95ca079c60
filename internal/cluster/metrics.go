package cluster

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Metrics scrapes the scheduler's /metrics (Prometheus text format). The
// test scheduler allows /metrics anonymously; its serving certificate is
// self-signed, so TLS verification is skipped.
func (s *Scheduler) Metrics(ctx context.Context) (string, error) {
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
	}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL("/metrics"), nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: status %d: %.200s", s.URL("/metrics"), resp.StatusCode, body)
	}
	return string(body), nil
}

// Sample is one line of the Prometheus text format.
type Sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// ParseSamples returns the samples of the metric family name in a scrape
// (comments and other metrics skipped). Label values with escaped quotes are
// not expected in our metrics and are not unescaped.
func ParseSamples(text, name string) ([]Sample, error) {
	var out []Sample
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		s := Sample{Name: name, Labels: map[string]string{}}
		if rest[0] == '{' {
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				return nil, fmt.Errorf("malformed sample %q", line)
			}
			for _, kv := range strings.Split(rest[1:end], ",") {
				if kv == "" {
					continue
				}
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return nil, fmt.Errorf("malformed label %q in %q", kv, line)
				}
				s.Labels[k] = strings.Trim(v, `"`)
			}
			rest = rest[end+1:]
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return nil, fmt.Errorf("sample without value %q", line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("sample %q: %w", line, err)
		}
		s.Value = v
		out = append(out, s)
	}
	return out, sc.Err()
}

// SampleValue returns the value of the sample of name whose labels include
// all of want, and whether there is one.
func SampleValue(text, name string, want map[string]string) (float64, bool, error) {
	samples, err := ParseSamples(text, name)
	if err != nil {
		return 0, false, err
	}
next:
	for _, s := range samples {
		for k, v := range want {
			if s.Labels[k] != v {
				continue next
			}
		}
		return s.Value, true, nil
	}
	return 0, false, nil
}
