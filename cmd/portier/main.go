// Command portier is Portier's one binary: the server and the operator's command line.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/portier-id/portier"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		os.Exit(1)
	}
}

// run is the whole program; main and the tests call it. On failure it has already printed
// one clear line to stderr.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := newRootCommand(ctx, getenv, stdin, stdout, stderr)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "portier: "+errorLine(err))
	}
	return err
}

// errorLine turns an error into the one line the operator reads.
func errorLine(err error) string {
	if code := portier.ErrorCode(err); code != portier.EInternal {
		return portier.ErrorMessage(err)
	}
	return err.Error()
}
