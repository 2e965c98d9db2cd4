package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

// contextsFile is ~/.config/repost/contexts.yaml: named targets, the way
// kubectl names clusters.
//
//	current: prod
//	contexts:
//	  prod:  {config: /etc/repost/config.yaml}
//	  local: {dataDir: /var/lib/repost}
//	  stage: {natsURL: "nats://nats.stage:4222", config: ~/stage.yaml}
type contextsFile struct {
	Current  string                 `yaml:"current,omitempty" json:"current"`
	Contexts map[string]namedTarget `yaml:"contexts" json:"contexts"`
}

// namedTarget is one context: a configuration file, a data directory of a
// running repostd, and/or a NATS URL (used when the configuration names none).
type namedTarget struct {
	Config  string `yaml:"config,omitempty" json:"config,omitempty"`
	DataDir string `yaml:"dataDir,omitempty" json:"dataDir,omitempty"`
	NATSURL string `yaml:"natsURL,omitempty" json:"natsURL,omitempty"`
}

// contextsPath is --contexts-file, else $XDG_CONFIG_HOME/repost/contexts.yaml,
// else ~/.config/repost/contexts.yaml; "" when there is no home either.
func contextsPath(e *env, g *globals) string {
	if g.contextsFile != "" {
		return g.contextsFile
	}
	if x := e.getenv("XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, "repost", "contexts.yaml")
	}
	if h := e.getenv("HOME"); h != "" {
		return filepath.Join(h, ".config", "repost", "contexts.yaml")
	}
	return ""
}

// readContexts reads the contexts file; a missing one is empty.
func readContexts(path string) (*contextsFile, error) {
	cf := &contextsFile{Contexts: map[string]namedTarget{}}
	if path == "" {
		return cf, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cf, nil
	}
	if err != nil {
		return nil, fmt.Errorf("contexts: %w", err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(cf); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("contexts %s: %w", path, err)
	}
	if cf.Contexts == nil {
		cf.Contexts = map[string]namedTarget{}
	}
	return cf, nil
}

func (cf *contextsFile) names() []string {
	names := make([]string, 0, len(cf.Contexts))
	for n := range cf.Contexts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// selectedContext is the context --context names, else the file's current
// one; ok is false when neither is set.
func selectedContext(e *env, g *globals) (name string, t namedTarget, ok bool, err error) {
	path := contextsPath(e, g)
	cf, err := readContexts(path)
	if err != nil {
		return "", namedTarget{}, false, err
	}
	name = g.context
	if name == "" {
		name = cf.Current
	}
	if name == "" {
		return "", namedTarget{}, false, nil
	}
	t, ok = cf.Contexts[name]
	if !ok {
		return "", namedTarget{}, false, usagef("context %q is not in %s (contexts: %s)", name, dash(path), dash(strings.Join(cf.names(), ", ")))
	}
	return name, expandHome(e, t), true, nil
}

func expandHome(e *env, t namedTarget) namedTarget {
	h := e.getenv("HOME")
	fix := func(p string) string {
		if h != "" && (p == "~" || strings.HasPrefix(p, "~/")) {
			return filepath.Join(h, strings.TrimPrefix(p, "~"))
		}
		return p
	}
	t.Config, t.DataDir = fix(t.Config), fix(t.DataDir)
	return t
}

func newContextCmd(e *env, g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "context",
		Short: "Named targets (configuration, data directory, NATS URL) in ~/.config/repost/contexts.yaml",
		Long: `Named targets, kubectl-style, in $XDG_CONFIG_HOME/repost/contexts.yaml
(default ~/.config/repost/contexts.yaml; --contexts-file to choose another):

  current: prod
  contexts:
    prod:  {config: /etc/repost/config.yaml}
    local: {dataDir: /var/lib/repost}
    stage: {natsURL: "nats://nats.stage:4222", config: ~/stage.yaml}

--context NAME picks one for a command; "context use NAME" makes it the
default. --config, --data-dir and REPOST_* variables override a context.`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error { return usagef("context needs a command: use or list") },
	}
	c.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "The named contexts; * marks the current one",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			path := contextsPath(e, g)
			cf, err := readContexts(path)
			if err != nil {
				return err
			}
			if g.json() {
				return writeJSON(e.stdout, cf)
			}
			if len(cf.Contexts) == 0 {
				_, err := fmt.Fprintf(e.stdout, "no contexts in %s (see repostctl context --help)\n", dash(path))
				return err
			}
			t := newTable(e.stdout, "CURRENT", "NAME", "CONFIG", "DATA DIR", "NATS")
			for _, n := range cf.names() {
				ct, cur := cf.Contexts[n], ""
				if n == cf.Current {
					cur = "*"
				}
				t.row(cur, n, dash(ct.Config), dash(ct.DataDir), dash(redactedNATS(ct.NATSURL)))
			}
			return t.flush()
		},
	}, &cobra.Command{
		Use:   "use NAME",
		Short: "Make a named context the default of every command",
		Args:  exactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			path := contextsPath(e, g)
			if path == "" {
				return usagef("no contexts file: set $HOME, $XDG_CONFIG_HOME or --contexts-file")
			}
			cf, err := readContexts(path)
			if err != nil {
				return err
			}
			if _, ok := cf.Contexts[args[0]]; !ok {
				return usagef("context %q is not in %s (contexts: %s)", args[0], path, dash(strings.Join(cf.names(), ", ")))
			}
			cf.Current = args[0]
			b, err := yaml.Marshal(cf)
			if err != nil {
				return err
			}
			tmp := path + ".tmp"
			if err := os.WriteFile(tmp, b, 0o600); err != nil {
				return err
			}
			if err := os.Rename(tmp, path); err != nil {
				return err
			}
			_, err = fmt.Fprintf(e.stdout, "current context: %s\n", args[0])
			return err
		},
	})
	return c
}

// redactedNATS drops a password from a NATS URL for display.
func redactedNATS(u string) string {
	if i := strings.Index(u, "@"); i >= 0 {
		if j := strings.Index(u, "://"); j >= 0 && j < i {
			return u[:j+3] + "***@" + u[i+1:]
		}
	}
	return u
}
