package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// usageError is a bad command line: exit status 2, with usage printed.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func isUsage(err error) bool {
	var u *usageError
	return errors.As(err, &u)
}

const usage = `usage:
  repostd [--config FILE]    run the worker until SIGTERM or SIGINT (config also from REPOST_CONFIG)
  repostd demo [flags]       run everything in one process against the Marketo simulator
  repostd version            print the version
`

// run is the whole program; main only adds signals and the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "demo":
			return runDemo(ctx, args[1:], getenv, stdout, stderr)
		case "version":
			fmt.Fprintln(stdout, "repostd", version)
			return nil
		case "help":
			fmt.Fprint(stdout, usage)
			return nil
		default:
			fmt.Fprint(stderr, usage)
			return &usageError{fmt.Sprintf("unknown command %q", args[0])}
		}
	}
	fs := flag.NewFlagSet("repostd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	configPath := fs.String("config", "", "configuration file (default $REPOST_CONFIG)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return &usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return &usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	path := *configPath
	if path == "" {
		path = getenv("REPOST_CONFIG")
	}
	return serve(ctx, path, getenv, stderr)
}
