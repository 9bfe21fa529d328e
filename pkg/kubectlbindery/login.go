package kubectlbindery

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/spf13/cobra"

	"github.com/bindery-dev/bindery/pkg/bindclient"
	"github.com/bindery-dev/bindery/pkg/bindprotocol"
)

// timeLayout is how session expiries are shown: local time, to the minute.
const timeLayout = "2006-01-02 15:04 MST"

// loginOptions are the flags of `kubectl bindery login`.
type loginOptions struct {
	noBrowser bool
	caFile    string
	timeout   time.Duration
}

func newLoginCommand() *cobra.Command {
	o := &loginOptions{}
	cmd := &cobra.Command{
		Use:   "login <backend-url>",
		Short: "Sign in to a bindery-backend in your browser and keep the session",
		Long: `Sign in to a bindery-backend, the provider's side of bindery, so that you can bind its
services into your own cluster with "kubectl bindery bind".

login opens the backend's sign-in page in your browser (with $BROWSER when it is set, else
xdg-open or open; --no-browser only prints the URL). You sign in at the identity provider the
backend trusts; the browser then comes back to a port on 127.0.0.1 that login listens on, and
login trades the one-time code it receives, protected by PKCE, for a session.

The session is stored in ` + sessionDirForHelp() + `, one file per backend, readable only
by you; signing in again replaces it. It lasts as long as the backend grants (kubectl bindery
whoami shows until when); sign in again once it has ended.`,
		Example: `  kubectl bindery login https://bindery.example.com
  kubectl bindery login https://localhost:9443 --certificate-authority .bindery/backend-ca.crt
  kubectl bindery login https://bindery.example.com --no-browser`,
		Args: backendURLArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0])
		},
	}
	cmd.Flags().BoolVar(&o.noBrowser, "no-browser", false, "print the sign-in URL instead of opening a browser (for a remote shell)")
	cmd.Flags().StringVar(&o.caFile, "certificate-authority", "", "PEM file with the CA of the backend's certificate, trusted besides the system's roots")
	cmd.Flags().DurationVar(&o.timeout, "timeout", bindclient.DefaultLoginTimeout, "how long to wait for the sign-in in the browser")
	return cmd
}

// backendURLArg checks that the command got exactly one argument, the backend's URL.
func backendURLArg(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%s takes the backend's URL and nothing else, e.g. kubectl bindery %s https://bindery.example.com", cmd.Name(), cmd.Name())
	}
	return nil
}

// sessionDirForHelp names the sessions directory of this machine, or says where it is in words.
func sessionDirForHelp() string {
	if dir, err := bindclient.SessionDir(); err == nil {
		return dir
	}
	return "bindery/sessions in your user config directory"
}

func (o *loginOptions) run(ctx context.Context, out, progress io.Writer, rawURL string) error {
	backend, err := backendURL(rawURL)
	if err != nil {
		return err
	}
	if o.timeout <= 0 {
		return fmt.Errorf("--timeout %s: give a positive duration such as 10m", o.timeout)
	}
	httpClient, err := bindclient.HTTPClient(o.caFile)
	if err != nil {
		return fmt.Errorf("--certificate-authority: %w", err)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	opts := bindclient.LoginOptions{BackendURL: backend, Out: progress, HTTPClient: httpClient, Timeout: o.timeout}
	if !o.noBrowser {
		opts.OpenBrowser = openBrowser
	}
	session, err := bindclient.Login(ctx, opts)
	if err != nil {
		return loginFailed(backend, err)
	}
	if err := bindclient.SaveSession(backend, session); err != nil {
		return fmt.Errorf("signed in to %s, but the session could not be kept (check that your config directory is writable): %w", backend, err)
	}
	_, err = fmt.Fprintln(out, signedInMessage(backend, session))
	return err
}

// backendURL normalizes the URL argument, or says what a right one looks like.
func backendURL(raw string) (string, error) {
	backend, err := bindclient.NormalizeBackendURL(raw)
	if err != nil {
		return "", fmt.Errorf("%w (the backend's URL is the one its provider gives you)", err)
	}
	return backend, nil
}

// loginFailed says what went wrong, with the flag that fixes it where there is one.
func loginFailed(backend string, err error) error {
	var unknownCA x509.UnknownAuthorityError
	switch {
	case errors.As(err, &unknownCA):
		return fmt.Errorf("signing in to %s: %w; if the backend has its own CA, pass its certificate with --certificate-authority <file>", backend, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("signing in to %s: %w; run login again and finish in the browser, or wait longer with --timeout", backend, err)
	}
	return fmt.Errorf("signing in to %s: %w", backend, err)
}

// signedInMessage is login's last line: who, until when, and what to do next.
func signedInMessage(backend string, s *bindprotocol.Session) string {
	return fmt.Sprintf("Signed in to %s as %s; the session is valid until %s. Next: kubectl bindery bind %s",
		backend, userName(s.User), s.ExpiresAt.Local().Format(timeLayout), backend)
}

// userName is "Display Name (username)", or the username alone when there is no other name.
func userName(u bindprotocol.User) string {
	if u.DisplayName == "" || u.DisplayName == u.Username {
		return u.Username
	}
	return fmt.Sprintf("%s (%s)", u.DisplayName, u.Username)
}

// loginHint is the advice every "sign in first" message ends with.
func loginHint(backend string) string {
	return "run kubectl bindery login " + backend
}
