package kubectlbindery

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/konnectorrbac"
	"github.com/bindery-dev/bindery/pkg/templating"
)

// credentialSuffix names a binding's credential Secret: <binding>-credential.
const credentialSuffix = "-credential"

// credentialSecretName is the name of the Secret holding the binding's provider kubeconfig.
func credentialSecretName(binding string) string { return binding + credentialSuffix }

// bindTarget is what a ServiceBinding binds: a Service of a backend, received under group
// (empty: the provider's groups).
type bindTarget struct {
	backend, service, group string
}

// lookupBinding returns the ServiceBinding of a name, or nil when there is none.
type lookupBinding func(name string) (*bindv1alpha1.ServiceBinding, error)

// bindingName picks the ServiceBinding's name: the one asked for with --name, else the
// service's name, or <service>-<hash of the backend> when a binding of the service's name
// binds another backend's Service (two providers may both call theirs "databases"). A name
// that is taken by another Service, backend or group is refused, because those fields are
// immutable: binding something else under it would fail half-way.
func bindingName(requested string, want bindTarget, lookup lookupBinding) (string, error) {
	if requested != "" {
		if err := validBindingName(requested); err != nil {
			return "", fmt.Errorf("--name: %w", err)
		}
		return requested, checkNameFree(requested, want, lookup)
	}
	candidates := []string{want.service, want.service + "-" + templating.ShortHash(want.backend)}
	for _, name := range candidates {
		if err := validBindingName(name); err != nil {
			return "", fmt.Errorf("the service's name does not make a binding name (%w): choose one with --name", err)
		}
		existing, err := lookup(name)
		if err != nil {
			return "", err
		}
		if existing == nil || existing.Spec.Backend == want.backend {
			return name, checkNameFree(name, want, lookup)
		}
	}
	return "", fmt.Errorf("ServiceBindings %s exist already for other backends: choose a name with --name", strings.Join(candidates, " and "))
}

// checkNameFree says why name cannot bind want, or nil when it is free or binds want already.
func checkNameFree(name string, want bindTarget, lookup lookupBinding) error {
	existing, err := lookup(name)
	if err != nil || existing == nil {
		return err
	}
	spec := existing.Spec
	if spec.Backend != want.backend || spec.Service != want.service {
		return fmt.Errorf("ServiceBinding %s binds service %s of %s already: choose another --name, or remove it first with kubectl bindery unbind %s",
			name, spec.Service, spec.Backend, name)
	}
	if spec.Group != want.group {
		return fmt.Errorf("ServiceBinding %s receives service %s under %s, and a binding's group cannot change: bind under another --name, or unbind %s first",
			name, spec.Service, groupOrProviders(spec.Group), name)
	}
	return nil
}

// groupOrProviders names a binding's group for messages.
func groupOrProviders(group string) string {
	if group == "" {
		return "the provider's groups"
	}
	return "group " + group
}

// validBindingName checks that name makes a ServiceBinding and, with its suffix, a Secret.
func validBindingName(name string) error {
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return fmt.Errorf("%q is not a valid name: %s", name, strings.Join(errs, "; "))
	}
	if max := validation.DNS1123SubdomainMaxLength - len(credentialSuffix); len(name) > max {
		return fmt.Errorf("%q is longer than %d characters, which leaves no room for its Secret's name", name, max)
	}
	return nil
}

// validGroup checks --group before anything is created: the received CRDs are named
// <resource>.<group>, which Kubernetes accepts only for a DNS subdomain with at least one dot.
func validGroup(group string) error {
	if group == "" {
		return nil
	}
	if err := konnectorrbac.ValidGroup(group); err != nil {
		return fmt.Errorf("--group: %w; give one of your own, such as databases.mycompany.example", err)
	}
	return nil
}
