package config

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// envName is what ${NAME} may hold: a POSIX shell variable name.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expand replaces ${NAME} with getenv(NAME) and $$ with $; any other $ stays
// as written. A variable that is unset or empty is an error naming it: a
// secret must never silently become "".
func expand(s string, getenv func(string) string) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", fmt.Errorf("unterminated ${ (write $$ for a literal $)")
			}
			name := s[i+2 : i+2+end]
			if !envName.MatchString(name) {
				return "", fmt.Errorf("${%s}: not a valid variable name", name)
			}
			v := getenv(name)
			if v == "" {
				return "", fmt.Errorf("environment variable %s is not set", name)
			}
			b.WriteString(v)
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String(), nil
}

// walker checks a parsed YAML document against the shape of Config before it
// is decoded: every key must name a field (yaml.v3's own strict mode is lost
// inside custom unmarshalers), and every scalar bound for a field gets its
// ${VAR} expanded. Expanding parsed scalars rather than the raw text means a
// value holding '#', ': ' or a quote can neither break nor reshape the YAML.
type walker struct {
	getenv func(string) string
	seen   map[*yaml.Node]bool // aliases: expand a shared node only once
	lines  map[string]int      // YAML path → line of its key, to place Validate's errors
	errs   []error
	// skipSecrets leaves subscriptions' clientSecret unexpanded (LoadWithoutSecrets).
	skipSecrets bool
}

func (w *walker) walk(n *yaml.Node, t reflect.Type, path string) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.DocumentNode {
		for _, c := range n.Content {
			w.walk(c, t, path)
		}
		return
	}
	if w.seen[n] {
		return
	}
	w.seen[n] = true
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		w.walkStruct(n, t, path)
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, c := range n.Content {
			at := fmt.Sprintf("%s[%d]", path, i)
			w.lines[at] = c.Line
			w.walk(c, t.Elem(), at)
		}
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			at := join(path, n.Content[i].Value)
			w.lines[at] = n.Content[i].Line
			w.walk(n.Content[i+1], t.Elem(), at)
		}
	case n.Kind == yaml.ScalarNode:
		w.expandScalar(n, t, path)
	}
	// Any other pairing is a type mismatch that decoding reports with its line.
}

func (w *walker) walkStruct(n *yaml.Node, t reflect.Type, path string) {
	fields := yamlFields(t)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value == "<<" && k.Tag == "!!merge" {
			w.walkMerge(v, t, path)
			continue
		}
		ft, ok := fields[k.Value]
		if !ok {
			w.errs = append(w.errs, &ValidationError{Field: join(path, k.Value), Reason: "unknown key", Line: k.Line})
			continue
		}
		w.lines[join(path, k.Value)] = k.Line
		w.walk(v, ft, join(path, k.Value))
	}
}

// walkMerge follows a YAML merge key (<<: *base or <<: [*a, *b]).
func (w *walker) walkMerge(v *yaml.Node, t reflect.Type, path string) {
	for v.Kind == yaml.AliasNode {
		v = v.Alias
	}
	if v.Kind == yaml.SequenceNode {
		for _, c := range v.Content {
			w.walk(c, t, path)
		}
		return
	}
	w.walk(v, t, path)
}

// expandScalar expands a scalar in place. A scalar bound for a number, bool
// or duration is re-resolved after expansion, quoted or not, so that
// `dailyQuota: "${QUOTA}"` decodes as a number (quoting is how ${...} fits in
// a flow mapping); one bound for a string stays a string whatever it holds
// ("null", "~", "123").
func (w *walker) expandScalar(n *yaml.Node, t reflect.Type, path string) {
	if !strings.Contains(n.Value, "$") {
		return
	}
	if w.skipSecrets && strings.HasPrefix(path, "subscriptions[") && strings.HasSuffix(path, ".clientSecret") {
		n.Value = string(SecretNotRead)
		return
	}
	v, err := expand(n.Value, w.getenv)
	if err != nil {
		w.errs = append(w.errs, &ValidationError{Field: path, Reason: err.Error(), Line: n.Line})
		return
	}
	n.Value = v
	if t.Kind() == reflect.String {
		n.Tag = "!!str"
		return
	}
	n.Tag, n.Style = "", 0 // quoted or not, "${QUOTA}" means the number it holds
}

// yamlFields maps the YAML keys of a struct to their field types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	m := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = f.Type
	}
	return m
}

// join builds a YAML path: "subscriptions[0]" + "limits" → "subscriptions[0].limits".
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
