package deployments

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// FileError is a rules or dashboard file that cannot be read, parsed or
// inspected. Errs holds every problem found, in file order.
type FileError struct {
	File string
	Errs []error
}

// Error implements error.
func (e *FileError) Error() string {
	return fmt.Sprintf("deployments: %s: %v", e.File, errors.Join(e.Errs...))
}

// Unwrap lets errors.Is and errors.As see the underlying errors.
func (e *FileError) Unwrap() []error { return e.Errs }

// promqlParser is the parser every expression goes through: the stable function set
// only, so a rule that needs an experimental flag on the server fails here.
var promqlParser = parser.NewParser(parser.Options{})

// MetricNames returns the sorted, de-duplicated names of the metrics selected
// by the rules of a Prometheus rule file, as written in the expressions: a
// histogram appears as name_bucket, name_sum or name_count (see FamilyName).
// The file must be in Prometheus rule format, unknown fields refused, with
// legacy (ASCII) metric names and expressions that parse; otherwise the error
// is a *FileError.
func MetricNames(rulesFile string) ([]string, error) {
	groups, errs := rulefmt.ParseFile(rulesFile, false, model.LegacyValidation, promqlParser,
		slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		return nil, &FileError{File: rulesFile, Errs: errs}
	}
	names := map[string]bool{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if err := addSelected(names, r.Expr); err != nil {
				errs = append(errs, fmt.Errorf("group %q rule %q: %w", g.Name, r.Alert+r.Record, err))
			}
		}
	}
	return sortedNames(names, rulesFile, errs)
}

// DashboardMetricNames is MetricNames for a Grafana dashboard (JSON model):
// the metrics named by every panel target's "expr" and by label_values(...)
// template variables. Grafana's interval variables ($__rate_interval,
// $__interval, $__range) are replaced by a duration before parsing.
func DashboardMetricNames(dashboardFile string) ([]string, error) {
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		return nil, &FileError{File: dashboardFile, Errs: []error{err}}
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, &FileError{File: dashboardFile, Errs: []error{err}}
	}
	queries := dashboardQueries(doc, nil)
	if len(queries) == 0 {
		return nil, &FileError{File: dashboardFile, Errs: []error{errors.New("no queries found")}}
	}
	names := map[string]bool{}
	var errs []error
	for _, q := range queries {
		if err := addSelected(names, q); err != nil {
			errs = append(errs, fmt.Errorf("query %q: %w", q, err))
		}
	}
	return sortedNames(names, dashboardFile, errs)
}

// FamilyName is the metric family a series name belongs to: a histogram's
// name_bucket, name_sum and name_count series belong to name. Other names are
// returned unchanged, so only call it for names known to be histograms.
func FamilyName(name string) string {
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			return base
		}
	}
	return name
}

// addSelected parses expr and adds the name of every vector selector in it.
func addSelected(names map[string]bool, expr string) error {
	return InspectSelectors(expr, func(vs *parser.VectorSelector) error {
		name, err := selectorName(vs)
		if err == nil {
			names[name] = true
		}
		return err
	})
}

// InspectSelectors parses a PromQL expression and calls f with each of its
// vector selectors (matrix selectors included), stopping at the first error.
func InspectSelectors(expr string, f func(*parser.VectorSelector) error) error {
	node, err := promqlParser.ParseExpr(expr)
	if err != nil {
		return err
	}
	var ferr error
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok && ferr == nil {
			ferr = f(vs)
		}
		return ferr
	})
	return ferr
}

// selectorName is the metric a selector names, by name or by an equality
// matcher on __name__; a regular expression on __name__ cannot be checked.
func selectorName(vs *parser.VectorSelector) (string, error) {
	if vs.Name != "" {
		return vs.Name, nil
	}
	for _, m := range vs.LabelMatchers {
		if m.Name == model.MetricNameLabel {
			if m.Type == labels.MatchEqual {
				return m.Value, nil
			}
			return "", fmt.Errorf("selector %s: metric name must be literal", vs)
		}
	}
	return "", fmt.Errorf("selector %s: no metric name", vs)
}

func sortedNames(names map[string]bool, file string, errs []error) ([]string, error) {
	if len(errs) > 0 {
		return nil, &FileError{File: file, Errs: errs}
	}
	out := make([]string, 0, len(names))
	for n := range names {
		out = append(out, n)
	}
	slices.Sort(out)
	return out, nil
}

var (
	grafanaInterval = regexp.MustCompile(`\$\{?__(rate_interval|interval|range)\}?`)
	labelValues     = regexp.MustCompile(`^\s*label_values\(\s*(.+?)\s*,\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$`)
)

// dashboardQueries collects, depth first, every PromQL query of a dashboard:
// "expr" strings, and the metric argument of label_values(metric, label)
// variable queries (a string or an object with a "query" field).
func dashboardQueries(v any, out []string) []string {
	switch v := v.(type) {
	case map[string]any:
		for key, child := range v {
			if s, ok := child.(string); ok {
				out = appendQuery(out, key, s)
				continue
			}
			out = dashboardQueries(child, out)
		}
	case []any:
		for _, child := range v {
			out = dashboardQueries(child, out)
		}
	}
	return out
}

func appendQuery(out []string, key, s string) []string {
	s = grafanaInterval.ReplaceAllString(s, "5m")
	switch {
	case key == "expr" && strings.TrimSpace(s) != "":
		return append(out, s)
	case key == "query" || key == "definition":
		if m := labelValues.FindStringSubmatch(s); m != nil {
			return append(out, m[1])
		}
	}
	return out
}
