package kubectlbindery

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bindery-dev/bindery/pkg/bindclient"
	"github.com/bindery-dev/bindery/pkg/bindprotocol"
)

func newWhoAmICommand() *cobra.Command {
	return &cobra.Command{
		Use:   "whoami <backend-url>",
		Short: "Show whom you are signed in to a bindery-backend as, and until when",
		Long: `Show the session that "kubectl bindery login" stored for a backend: the user the backend
and the provider's cluster know you as, your groups, the issuer, and when the session ends.
It reads the stored session only and does not call the backend.`,
		Example: `  kubectl bindery whoami https://bindery.example.com`,
		Args:    backendURLArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			backend, err := backendURL(args[0])
			if err != nil {
				return err
			}
			session, err := loadSession(backend)
			if err != nil {
				return err
			}
			return describeSession(cmd.OutOrStdout(), backend, session, time.Now())
		},
	}
}

// loadSession reads the stored session, and says how to get one when there is none to use.
func loadSession(backend string) (*bindprotocol.Session, error) {
	session, err := bindclient.LoadSession(backend)
	switch {
	case errors.Is(err, bindclient.ErrNoSession):
		return nil, fmt.Errorf("not signed in to %s: %s", backend, loginHint(backend))
	case errors.Is(err, bindclient.ErrSessionExpired):
		return nil, fmt.Errorf("your session for %s (as %s) ended at %s: %s",
			backend, userName(session.User), session.ExpiresAt.Local().Format(timeLayout), loginHint(backend))
	case err != nil:
		return nil, fmt.Errorf("%w; %s", err, loginHint(backend))
	}
	return session, nil
}

// describeSession writes the session's user and expiry, one field a line.
func describeSession(w io.Writer, backend string, s *bindprotocol.Session, now time.Time) error {
	groups := strings.Join(s.User.Groups, ", ")
	if groups == "" {
		groups = "<none>"
	}
	left := s.ExpiresAt.Sub(now).Round(time.Minute)
	_, err := fmt.Fprintf(w, "Backend:  %s\nUser:     %s\nGroups:   %s\nIssuer:   %s (subject %s)\nSession:  valid until %s (%s left)\n",
		backend, userName(s.User), groups, s.User.Issuer, s.User.Subject, s.ExpiresAt.Local().Format(timeLayout), left)
	return err
}
