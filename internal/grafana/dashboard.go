// Package grafana reads the Grafana dashboard shipped in manifests/grafana
// and names the metrics its queries use, so tests can hold the dashboard to
// the metrics the scheduler registers.
package grafana

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
)

// Dashboard is the part of a Grafana dashboard model holding queries.
type Dashboard struct {
	Title      string `json:"title"`
	UID        string `json:"uid"`
	Panels     []Panel
	Templating struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

// Panel is a panel or a row (rows may nest their panels).
type Panel struct {
	Title   string   `json:"title"`
	Type    string   `json:"type"`
	Targets []Target `json:"targets"`
	Panels  []Panel  `json:"panels"`
}

// Target is one Prometheus query of a panel.
type Target struct {
	Expr string `json:"expr"`
}

// Load reads and decodes a dashboard JSON file.
func Load(path string) (*Dashboard, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	d := &Dashboard{}
	if err := json.Unmarshal(data, d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// Query is one query of the dashboard and where it is.
type Query struct {
	Where string // panels[i].targets[j] (nested: panels[i].panels[k]…) or templating.list[i].query
	Expr  string
}

// Queries returns every Prometheus expression of the dashboard: panel
// targets and query variables (label_values(metric, label) included).
func (d *Dashboard) Queries() []Query {
	var out []Query
	var walk func(prefix string, ps []Panel)
	walk = func(prefix string, ps []Panel) {
		for i, p := range ps {
			at := fmt.Sprintf("%s[%d]", prefix, i)
			for j, t := range p.Targets {
				if t.Expr != "" {
					out = append(out, Query{Where: fmt.Sprintf("%s.targets[%d] (%q)", at, j, p.Title), Expr: t.Expr})
				}
			}
			walk(at+".panels", p.Panels)
		}
	}
	walk("panels", d.Panels)
	for i, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q string
		if json.Unmarshal(v.Query, &q) != nil {
			var obj struct {
				Query string `json:"query"`
			}
			if json.Unmarshal(v.Query, &obj) != nil {
				continue
			}
			q = obj.Query
		}
		if q != "" {
			out = append(out, Query{Where: fmt.Sprintf("templating.list[%d].query", i), Expr: q})
		}
	}
	return out
}

var (
	labelValues = regexp.MustCompile(`\blabel_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?)\s*,\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)`)
	quoted      = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	matchers    = regexp.MustCompile(`\{[^}]*\}`)
	ranges      = regexp.MustCompile(`\[[^\]]*\]`)
	grouping    = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	ident       = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	keywords    = map[string]bool{"bool": true, "offset": true, "and": true, "or": true, "unless": true,
		"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
		"inf": true, "nan": true, "Inf": true, "NaN": true}
)

// MetricNames returns the metric names a PromQL expression selects, sorted:
// every identifier that is not a function or aggregation (followed by "("),
// a keyword, a label (inside {} or a grouping clause), a range, a string or
// a Grafana variable ($name).
func MetricNames(expr string) []string {
	e := labelValues.ReplaceAllString(expr, "$1") // Grafana's label_values(metric, label)
	e = quoted.ReplaceAllString(e, `""`)
	e = matchers.ReplaceAllString(e, " ")
	e = ranges.ReplaceAllString(e, " ")
	e = grouping.ReplaceAllString(e, " ")
	var names []string
	for _, m := range ident.FindAllStringIndex(e, -1) {
		name := e[m[0]:m[1]]
		if m[0] > 0 && strings.ContainsRune("0123456789.$", rune(e[m[0]-1])) {
			continue // a number's exponent (1e3) or a Grafana variable
		}
		if strings.HasPrefix(strings.TrimLeft(e[m[1]:], " \t\n"), "(") || keywords[name] {
			continue // a function or aggregation, or a keyword
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// Histogram series names: a histogram family X is queried as X_bucket,
// X_sum and X_count.
var histogramSuffixes = []string{"_bucket", "_sum", "_count"}

// Unknown returns, for each query, the metric names it selects that are
// not among known (family names; histograms as well by their series
// suffixes when listed in histograms).
func (d *Dashboard) Unknown(known, histograms map[string]bool) []string {
	var out []string
	for _, q := range d.Queries() {
		for _, n := range MetricNames(q.Expr) {
			if known[n] {
				continue
			}
			hist := false
			for _, s := range histogramSuffixes {
				if base, ok := strings.CutSuffix(n, s); ok && histograms[base] {
					hist = true
				}
			}
			if !hist {
				out = append(out, fmt.Sprintf("%s: %s is not a metric the scheduler registers", q.Where, n))
			}
		}
	}
	return out
}
