package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/leadops/repost/config"
	"github.com/leadops/repost/quota"
)

// usageError is a bad command line: exit status 2, with usage printed.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

func isUsage(err error) bool {
	var u *usageError
	return errors.As(err, &u)
}

// env is what the commands get from the outside; tests replace the clock,
// the zone and the hooks.
type env struct {
	getenv   func(string) string
	stdin    io.Reader
	stdout   io.Writer
	stderr   io.Writer
	now      func() time.Time
	loc      *time.Location // "local" times in listings
	terminal bool           // stderr is a terminal: draw a progress bar
	// outTerminal: stdout is a terminal, where status --watch redraws in
	// place, cut to termSize's rows and columns (nil or 0: unknown);
	// watchEvery replaces its 2 s (tests).
	outTerminal bool
	termSize    func() (rows, cols int)
	watchEvery  time.Duration
	// limitStore replaces the store `limits` reads (tests); nil opens Redis
	// when configured, else a fresh in-process store.
	limitStore func(ctx context.Context, cfg *config.Config) (quota.Store, string, error)
	hooks      hooks
}

// hooks let tests interrupt a requeue at a precise step.
type hooks struct {
	// afterPublish runs once the n-th requeued event is acknowledged, before
	// its outcome; an error stops the requeue there, as a kill would.
	afterPublish func(n int) error
	// afterOutcomes runs once a chunk's requeued outcomes are acknowledged,
	// before its entries are deleted; an error stops the requeue there.
	afterOutcomes func() error
}

// globals are the flags every command takes.
type globals struct {
	configPath   string
	dataDir      string
	output       string
	context      string
	contextsFile string
	offline      bool
}

func (g *globals) json() bool { return g.output == "json" }

// run is the whole program; main only adds signals and the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr, now: time.Now, loc: time.Local,
		terminal: isTerminal(stderr), outTerminal: isTerminal(stdout)}
	if f, ok := stdout.(*os.File); ok && e.outTerminal {
		// Read at every frame: a resized window is followed.
		e.termSize = func() (int, int) { return terminalSize(f) }
	}
	return runEnv(ctx, e, args)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// runEnv builds the command tree and runs it; a bad command line prints the
// failing command's usage to stderr and returns a *usageError.
func runEnv(ctx context.Context, e *env, args []string) error {
	g := &globals{}
	root := newRoot(e, g)
	root.SetArgs(args)
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	// Cobra's completion command (it takes its writer now), with a usage
	// error for a missing or unknown shell.
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.Args = noArgs
			c.RunE = func(*cobra.Command, []string) error {
				return usagef("completion needs a shell: bash, zsh, fish or powershell")
			}
		}
	}
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return nil
	}
	if strings.HasPrefix(err.Error(), "unknown command") || strings.HasPrefix(err.Error(), "unknown flag") {
		err = &usageError{err.Error()}
	}
	if isUsage(err) {
		if cmd == nil {
			cmd = root
		}
		fmt.Fprint(e.stderr, cmd.UsageString())
	}
	return err
}

func newRoot(e *env, g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:           "repostctl",
		Short:         "Inspect and replay repost's parked leads",
		Version:       version,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          noArgs,
		RunE:          func(*cobra.Command, []string) error { return usagef("a command is required") },
		PersistentPreRunE: func(c *cobra.Command, _ []string) error {
			if g.output != "table" && g.output != "json" {
				return usagef("-o must be table or json, not %q", g.output)
			}
			return checkActor(c)
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err.Error()} })
	pf := root.PersistentFlags()
	pf.StringVar(&g.configPath, "config", "", "configuration file (default $REPOST_CONFIG)")
	pf.StringVar(&g.dataDir, "data-dir", "", "data directory (overrides dataDir of the configuration)")
	pf.StringVarP(&g.output, "output", "o", "table", "output of listings: table or json")
	pf.StringVar(&g.context, "context", "", "named target from the contexts file (default: its current context)")
	pf.StringVar(&g.contextsFile, "contexts-file", "", "contexts file (default $XDG_CONFIG_HOME/repost/contexts.yaml or ~/.config/repost/contexts.yaml)")
	pf.BoolVar(&g.offline, "offline", false, "with no repostd running, start an embedded NATS on the data directory to read what it left")
	root.AddCommand(newParkedCmd(e, g), newImportCmd(e, g), newLimitsCmd(e, g), newPolicyCmd(e, g),
		newVersionCmd(e), newStatusCmd(e, g), newSubscriptionCmd(e, g),
		newContextCmd(e, g), newTraceCmd(e, g))
	return root
}

func newParkedCmd(e *env, g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "parked",
		Short: "The parked-lead queue: summary, list, show, requeue, discard",
		Args:  noArgs,
		RunE: func(_ *cobra.Command, args []string) error {
			return usagef("parked needs a command: summary, list, show, requeue or discard")
		},
	}
	c.AddCommand(newSummaryCmd(e, g), newListCmd(e, g), newShowCmd(e, g), newRequeueCmd(e, g), newDiscardCmd(e, g))
	return c
}

// noArgs, exactArgs and maxArgs are cobra's validators with usage errors.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		if c.HasSubCommands() {
			msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
			if c.SuggestionsMinimumDistance <= 0 {
				c.SuggestionsMinimumDistance = 2
			}
			if s := c.SuggestionsFor(args[0]); len(s) > 0 {
				msg += "; did you mean " + strings.Join(s, " or ") + "?"
			}
			return usagef("%s", msg)
		}
		return usagef("%s takes no arguments, got %q", c.CommandPath(), args[0])
	}
	return nil
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s takes %d argument(s), got %d", c.CommandPath(), n, len(args))
		}
		return nil
	}
}

func maxArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) > n {
			return usagef("%s takes at most %d argument(s), got %d", c.CommandPath(), n, len(args))
		}
		return nil
	}
}

// actorFlag registers --actor, defaulting to the OS user ($USER, then
// $LOGNAME); with neither, the command refuses to run without --actor
// (checkActor) rather than record an unknown actor.
func actorFlag(fs *pflag.FlagSet, e *env, dst *string) {
	def := e.getenv("USER")
	if def == "" {
		def = e.getenv("LOGNAME")
	}
	fs.StringVar(dst, "actor", def, "who acts, recorded in the outcomes (default $USER, else $LOGNAME)")
}

// checkActor refuses a command taking --actor when it is empty.
func checkActor(c *cobra.Command) error {
	f := c.Flags().Lookup("actor")
	if f == nil || strings.TrimSpace(f.Value.String()) != "" {
		return nil
	}
	return usagef("%s records who acts: pass --actor NAME (neither $USER nor $LOGNAME is set)", c.CommandPath())
}

// newVersionCmd prints repostctl's version.
func newVersionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print repostctl's version",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(e.stdout, "repostctl %s\n", version)
			return err
		},
	}
}
