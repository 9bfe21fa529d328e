package kubectlbindery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/bindprotocol"
	"github.com/bindery-dev/bindery/pkg/konnectorrbac"
	"github.com/bindery-dev/bindery/pkg/version"
)

// KonnectorMode says whether bind installs bindery-konnector.
type KonnectorMode string

const (
	// KonnectorInstall installs the konnector unless one is available already.
	KonnectorInstall KonnectorMode = "install"
	// KonnectorSkip leaves the konnector to whoever runs it (a chart, a process in tests).
	KonnectorSkip KonnectorMode = "skip"
)

// DefaultKonnectorNamespace is where bind puts the konnector and the credential Secrets.
const DefaultKonnectorNamespace = "bindery-system"

// ConsumerBind is the consumer cluster's half of `kubectl bindery bind`: everything after the
// sign-in. Run reads the cluster's identity, asks the backend to bind (through Bind, so that
// tests can answer for a backend), writes the binding into the cluster, installs the konnector
// and waits until the binding is Ready.
type ConsumerBind struct {
	// Config reaches the consumer cluster: a plain Kubernetes cluster.
	Config *rest.Config
	// ContextName is the kubeconfig context's name, sent to the backend for humans.
	ContextName string
	// Backend is the normalized URL of the backend; Service the Service to bind there.
	Backend, Service string
	// Name of the ServiceBinding; empty picks one (see bindingName).
	Name string
	// Group, when set, is the API group the Service's APIs are received under.
	Group string
	// Konnector says whether to install the konnector; empty is KonnectorInstall.
	Konnector KonnectorMode
	// KonnectorNamespace holds the konnector and the credential Secret; empty is
	// DefaultKonnectorNamespace.
	KonnectorNamespace string
	// KonnectorImage is the konnector's image; empty is DefaultKonnectorImage.
	KonnectorImage string
	// Wait bounds the wait for Ready; zero does not wait.
	Wait time.Duration
	// Out receives the progress lines; nil discards them.
	Out io.Writer
	// Bind asks the backend to bind Service for the cluster.
	Bind func(ctx context.Context, cluster bindprotocol.Cluster) (*bindprotocol.BindResponse, error)
}

func (o *ConsumerBind) setDefaults() {
	if o.Konnector == "" {
		o.Konnector = KonnectorInstall
	}
	if o.KonnectorNamespace == "" {
		o.KonnectorNamespace = DefaultKonnectorNamespace
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
}

// validate checks what can be checked before anything is asked of the backend or created.
func (o *ConsumerBind) validate() error {
	if err := validGroup(o.Group); err != nil {
		return err
	}
	if o.Konnector != KonnectorInstall && o.Konnector != KonnectorSkip {
		return fmt.Errorf("--konnector=%s: choose install (the default: install it unless one runs) or skip (it runs already)", o.Konnector)
	}
	if o.Wait < 0 {
		return fmt.Errorf("--wait %s: give a duration such as 2m, or 0 not to wait", o.Wait)
	}
	if o.Konnector == KonnectorInstall && o.KonnectorImage == "" {
		image, err := DefaultKonnectorImage(version.Get())
		if err != nil {
			return err
		}
		o.KonnectorImage = image
	}
	return nil
}

// Run binds the Service into the cluster and returns the ServiceBinding.
func (o *ConsumerBind) Run(ctx context.Context) (*bindv1alpha1.ServiceBinding, error) {
	o.setDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	if o.Bind == nil || o.Config == nil {
		return nil, errors.New("a bind needs a cluster and a backend to ask")
	}
	p := progress{o.Out}
	c, err := newConsumerClient(o.Config)
	if err != nil {
		return nil, err
	}
	id, err := clusterIdentity(ctx, c)
	if err != nil {
		return nil, err
	}
	p.printf("Cluster %q: its identity is the kube-system namespace's UID %s.", o.ContextName, id)
	name, err := bindingName(o.Name, bindTarget{o.Backend, o.Service, o.Group}, existingBinding(ctx, c))
	if err != nil {
		return nil, err
	}
	resp, err := o.Bind(ctx, bindprotocol.Cluster{ID: id, Name: o.ContextName})
	if err != nil {
		return nil, err
	}
	if err := validResponse(resp, o.Group); err != nil {
		return nil, fmt.Errorf("the backend's answer cannot be used, and nothing was created in your cluster: %w; tell the provider", err)
	}
	p.printf("Bound service %s at %s: consumer %s, provider namespace %s, credential valid until %s.",
		o.Service, o.Backend, resp.Consumer, resp.Namespace, resp.ExpiresAt.Local().Format(timeLayout))
	return o.finish(ctx, c, p, name, resp)
}

// finish writes the binding, installs the konnector and waits, as the options say.
func (o *ConsumerBind) finish(ctx context.Context, c client.Client, p progress, name string, resp *bindprotocol.BindResponse) (*bindv1alpha1.ServiceBinding, error) {
	binding, err := applyBinding(ctx, c, p, name, resp, o)
	if err != nil {
		return nil, err
	}
	if o.Konnector == KonnectorInstall {
		if err := ensureKonnector(ctx, c, p, o.KonnectorNamespace, o.KonnectorImage); err != nil {
			return binding, err
		}
	}
	if o.Wait == 0 {
		p.printf("Not waiting for the konnector (--wait 0): kubectl bindery bindings shows when %s is Ready.", binding.Name)
		return binding, nil
	}
	binding, err = waitReady(ctx, c, p, binding, o.Wait, o.KonnectorNamespace)
	if err != nil {
		return binding, err
	}
	printNextSteps(p, binding)
	return binding, nil
}

// existingBinding looks ServiceBindings up by name; none exist while the CRD is missing.
func existingBinding(ctx context.Context, c client.Client) lookupBinding {
	return func(name string) (*bindv1alpha1.ServiceBinding, error) {
		b := &bindv1alpha1.ServiceBinding{}
		err := c.Get(ctx, client.ObjectKey{Name: name}, b)
		switch {
		case apierrors.IsNotFound(err), meta.IsNoMatchError(err):
			return nil, nil
		case err != nil:
			return nil, fmt.Errorf("reading ServiceBinding %s: %w", name, err)
		}
		return b, nil
	}
}

// validResponse checks the backend's answer before anything is written: a binding without a
// credential, or with a resource that would give the konnector rights on Kubernetes' own APIs
// or a wildcard, is refused.
func validResponse(resp *bindprotocol.BindResponse, group string) error {
	switch {
	case resp.Consumer == "" || resp.Namespace == "":
		return errors.New("it names no consumer or provider namespace")
	case len(resp.Kubeconfig) == 0:
		return errors.New("it holds no credential")
	case len(resp.Resources) == 0:
		return errors.New("it binds no resources")
	}
	for _, gr := range receivedResources(resp, group) {
		if err := konnectorrbac.ValidReceived(gr); err != nil {
			return err
		}
	}
	for _, gr := range relatedKinds(resp) {
		if err := konnectorrbac.ValidRelated(gr); err != nil {
			return err
		}
	}
	return nil
}

// imageTag is what a container image tag may be.
var imageTag = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// DefaultKonnectorImage is the konnector image of a release: the one of the same version as
// this CLI. A development build has none, so it asks for --konnector-image.
func DefaultKonnectorImage(cliVersion string) (string, error) {
	if !imageTag.MatchString(cliVersion) {
		return "", fmt.Errorf("this kubectl-bindery is a development build (version %s) with no konnector image of its own: "+
			"pass --konnector-image IMAGE, or --konnector=skip where a konnector runs already", cliVersion)
	}
	return "ghcr.io/bindery-dev/bindery-konnector:" + cliVersion, nil
}

// cliVersion is the version recorded on what bind installs.
func cliVersion() string { return version.Get() }

// progress writes bind's progress lines.
type progress struct{ w io.Writer }

func (p progress) printf(format string, args ...any) { fmt.Fprintf(p.w, format+"\n", args...) }
