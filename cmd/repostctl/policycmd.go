package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/leadops/repost/policy"
)

func newPolicyCmd(e *env, g *globals) *cobra.Command {
	var code string
	c := &cobra.Command{
		Use:   "policy [--code N]",
		Short: "The effective decision table: the default policy plus the configuration's overrides",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var want policy.Code
			if code != "" {
				var err error
				if want, err = policy.ParseCode(code); err != nil {
					return usagef("--code %q: %v", code, err)
				}
			}
			cfg, err := loadConfig(e, g)
			if err != nil {
				return err
			}
			pc, err := cfg.PolicyConfig()
			if err != nil {
				return err
			}
			eng, err := policy.New(pc)
			if err != nil {
				return err
			}
			rows := eng.Table()
			if want != "" {
				rows = []policy.Row{eng.Rule(want)}
			}
			if g.json() {
				return writeJSON(e.stdout, struct {
					MaxAttempts int          `json:"maxAttempts"`
					Rows        []policy.Row `json:"rows"`
				}{eng.MaxAttempts(), rows})
			}
			return printPolicy(e.stdout, eng.MaxAttempts(), rows)
		},
	}
	c.Flags().StringVar(&code, "code", "", "only this code (1006, 401, timeout, ...)")
	return c
}

func printPolicy(w io.Writer, maxAttempts int, rows []policy.Row) error {
	fmt.Fprintf(w, "maxAttempts: %d\n\n", maxAttempts)
	t := newTable(w, "CODE", "ACTION", "ATTEMPT", "SOURCE", "DESCRIPTION")
	overridden := 0
	for _, r := range rows {
		source, mark := "contract", ""
		switch {
		case r.Overridden:
			source, mark = "override", " *"
			overridden++
		case r.Default:
			source = "default"
		}
		attempt := "no"
		if r.Attempt {
			attempt = "yes"
		}
		t.row(r.Code.String()+mark, string(r.Action), attempt, source, r.Description)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if overridden > 0 {
		fmt.Fprintf(w, "\n* %d overridden by the configuration (policy.overrides)\n", overridden)
	}
	fmt.Fprintln(w, "\nattempt: the failed call counts toward maxAttempts; default: no row lists the code (anything else: retry as transient, then park)")
	return nil
}
