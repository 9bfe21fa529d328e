package kubectlbindery

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/spf13/cobra"

	"github.com/bindery-dev/bindery/pkg/bindclient"
	"github.com/bindery-dev/bindery/pkg/bindprotocol"
)

// DefaultBindWait is how long bind waits for the konnector to make the binding Ready.
const DefaultBindWait = 2 * time.Minute

// bindOptions are the flags of `kubectl bindery bind`.
type bindOptions struct {
	service, name, group string
	konnector            string
	konnectorNamespace   string
	konnectorImage       string
	wait                 time.Duration
	caFile               string
	noBrowser            bool
}

func newBindCommand(cluster func() (*consumerTarget, error)) *cobra.Command {
	o := &bindOptions{}
	cmd := &cobra.Command{
		Use:   "bind <backend-url>",
		Short: "Bind a provider's service into the cluster of your current kubeconfig context",
		Long: `Bind a service that a provider offers at its bindery-backend into your own Kubernetes
cluster (the current context of your kubeconfig, or --context).

bind signs you in (the session stored by "kubectl bindery login" is used when --service is given;
without --service your browser opens and you pick the service on the backend's page), sends the
backend the UID of the kube-system namespace as the cluster's identity, and receives a
credential for a namespace of your own on the provider. In your cluster it then creates:

  - the ServiceBinding CRD, when it is missing or older than this kubectl-bindery;
  - a Secret <binding>-credential in --konnector-namespace with the credential;
  - the ServiceBinding (named after the service, or --name);
  - a ClusterRole that lets the konnector read and update exactly the received resources;
  - bindery-konnector, unless it runs already (--konnector=skip leaves it alone).

The konnector installs the service's APIs as CRDs and syncs the objects you create of them to
the provider, status and credentials back. bind waits until it reports the binding Ready
(--wait 0 does not wait). Everything is written with server-side apply as "kubectl-bindery",
so binding again updates it in place. kubectl bindery unbind removes it.`,
		Example: `  kubectl bindery bind https://bindery.example.com
  kubectl bindery bind https://bindery.example.com --service databases --group databases.team-a.example
  kubectl bindery bind https://localhost:9443 --certificate-authority .bindery/backend-ca.crt --konnector=skip`,
		Args: backendURLArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), cmd.OutOrStdout(), args[0], cluster)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.service, "service", "", "the service to bind (default: pick it on the backend's page in the browser)")
	f.StringVar(&o.name, "name", "", "name of the ServiceBinding (default: the service's name, with a hash of the backend when that name binds another backend)")
	f.StringVar(&o.group, "group", "", "receive the service's APIs under this API group instead of the provider's (a DNS subdomain with a dot)")
	f.StringVar(&o.konnector, "konnector", string(KonnectorInstall), "install: install bindery-konnector unless it runs; skip: leave it to you")
	f.StringVar(&o.konnectorNamespace, "konnector-namespace", DefaultKonnectorNamespace, "namespace of the konnector and the credential Secret")
	f.StringVar(&o.konnectorImage, "konnector-image", "", "konnector image to install (default: ghcr.io/bindery-dev/bindery-konnector:<this version>)")
	f.DurationVar(&o.wait, "wait", DefaultBindWait, "how long to wait for the binding to become Ready; 0 does not wait")
	f.StringVar(&o.caFile, "certificate-authority", "", "PEM file with the CA of the backend's certificate, trusted besides the system's roots")
	f.BoolVar(&o.noBrowser, "no-browser", false, "print the sign-in URL instead of opening a browser (for a remote shell)")
	return cmd
}

func (o *bindOptions) run(ctx context.Context, out io.Writer, rawURL string, cluster func() (*consumerTarget, error)) error {
	backend, err := backendURL(rawURL)
	if err != nil {
		return err
	}
	bind := &ConsumerBind{
		Backend: backend, Service: o.service, Name: o.name, Group: o.group,
		Konnector: KonnectorMode(o.konnector), KonnectorNamespace: o.konnectorNamespace, KonnectorImage: o.konnectorImage,
		Wait: o.wait, Out: out,
	}
	// Check the flags and the kubeconfig before a browser opens: a sign-in is no use when the
	// bind cannot go on.
	bind.setDefaults()
	if err := bind.validate(); err != nil {
		return err
	}
	target, err := cluster()
	if err != nil {
		return err
	}
	bind.Config, bind.ContextName = target.config, target.context
	httpClient, err := bindclient.HTTPClient(o.caFile)
	if err != nil {
		return fmt.Errorf("--certificate-authority: %w", err)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	session, service, err := o.session(ctx, out, backend, httpClient)
	if err != nil {
		return err
	}
	bind.Service = service
	bind.Bind = backendBind(backend, service, session, httpClient)
	_, err = bind.Run(ctx)
	return err
}

// session returns a session for the backend and the service to bind: the stored session when
// --service names the service and the session is still valid, else a sign-in in the browser,
// which lets the user pick the service when --service is not given.
func (o *bindOptions) session(ctx context.Context, out io.Writer, backend string, httpClient *http.Client) (*bindprotocol.Session, string, error) {
	if o.service != "" {
		if session, err := bindclient.LoadSession(backend); err == nil {
			fmt.Fprintf(out, "Using your session for %s as %s (valid until %s).\n", backend, userName(session.User), session.ExpiresAt.Local().Format(timeLayout))
			return session, o.service, nil
		}
	}
	opts := bindclient.LoginOptions{BackendURL: backend, SelectService: o.service == "", Out: out, HTTPClient: httpClient}
	if !o.noBrowser {
		opts.OpenBrowser = openBrowser
	}
	session, err := bindclient.Login(ctx, opts)
	if err != nil {
		return nil, "", loginFailed(backend, err)
	}
	if err := bindclient.SaveSession(backend, session); err != nil {
		fmt.Fprintf(out, "Warning: the session could not be kept, so the next bind signs in again (check that your config directory is writable): %v\n", err)
	}
	service := o.service
	if service == "" {
		service = session.Service
	}
	if service == "" {
		return nil, "", fmt.Errorf("signed in to %s, but the backend did not say which service you picked: run bind again with --service NAME", backend)
	}
	fmt.Fprintf(out, "Signed in to %s as %s; binding service %s.\n", backend, userName(session.User), service)
	return session, service, nil
}

// backendBind is the call to the backend, with errors that say what to do.
func backendBind(backend, service string, session *bindprotocol.Session, httpClient *http.Client) func(context.Context, bindprotocol.Cluster) (*bindprotocol.BindResponse, error) {
	return func(ctx context.Context, cluster bindprotocol.Cluster) (*bindprotocol.BindResponse, error) {
		c, err := bindclient.NewClient(backend, session, httpClient)
		if err != nil {
			return nil, err
		}
		resp, err := c.Bind(ctx, service, bindprotocol.BindRequest{Cluster: cluster})
		if err != nil {
			return nil, bindFailed(backend, service, err)
		}
		return resp, nil
	}
}

// bindFailed says why the backend did not bind, and what fixes it.
func bindFailed(backend, service string, err error) error {
	var apiErr *bindclient.APIError
	var unknownCA x509.UnknownAuthorityError
	switch {
	case errors.As(err, &apiErr) && apiErr.SignInAgain():
		return fmt.Errorf("the backend refused your session (%w): %s and bind again", err, loginHint(backend))
	case errors.As(err, &apiErr) && apiErr.Body.Reason == bindprotocol.ReasonServiceNotFound:
		return fmt.Errorf("binding %s at %s: %w; run bind without --service to pick one on the backend's page", service, backend, err)
	case errors.As(err, &unknownCA):
		return fmt.Errorf("binding %s at %s: %w; if the backend has its own CA, pass its certificate with --certificate-authority <file>", service, backend, err)
	}
	return fmt.Errorf("binding %s at %s: %w", service, backend, err)
}
