package kubectlbindery

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	utilversion "k8s.io/apimachinery/pkg/util/version"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/deploy"
	"github.com/bindery-dev/bindery/pkg/bindprotocol"
	"github.com/bindery-dev/bindery/pkg/konnectorrbac"
	"github.com/bindery-dev/bindery/pkg/templating"
)

const (
	// serviceBindingCRDFile is the ServiceBinding CRD in deploy.CRDs.
	serviceBindingCRDFile = "crd/bind.bindery.dev_servicebindings.yaml"
	// crdVersionAnnotation records which kubectl-bindery version installed the ServiceBinding
	// CRD, so that an older CLI leaves a newer CRD alone.
	crdVersionAnnotation = "bind.bindery.dev/installed-by-version"
	// bindingLabel marks what bind creates for a binding (its Secret) with the binding's name.
	bindingLabel = konnectorrbac.BindingLabel
	// establishTimeout bounds the wait for the ServiceBinding CRD to be served.
	establishTimeout = time.Minute
)

// applyBinding writes the binding into the consumer cluster: the ServiceBinding CRD when it is
// missing or older, the konnector's namespace when missing, then the ServiceBinding, the Secret
// with the provider credential and the ClusterRole that grants the konnector the received
// resources. The Secret and ClusterRole are owned by the ServiceBinding, so that deleting it
// with kubectl cleans them up too.
func applyBinding(ctx context.Context, c client.Client, p progress, name string, resp *bindprotocol.BindResponse, o *ConsumerBind) (*bindv1alpha1.ServiceBinding, error) {
	if err := ensureServiceBindingCRD(ctx, c, p); err != nil {
		return nil, err
	}
	if err := ensureNamespace(ctx, c, o.KonnectorNamespace); err != nil {
		return nil, err
	}
	binding := serviceBinding(name, resp, o)
	if err := checkSameConsumer(ctx, c, binding); err != nil {
		return nil, err
	}
	if err := applyWhenServed(ctx, c, binding); err != nil {
		return nil, err
	}
	owner := metav1.OwnerReference{
		APIVersion: bindv1alpha1.GroupVersion.String(), Kind: "ServiceBinding", Name: binding.Name, UID: binding.UID,
	}
	secret := credentialSecret(name, o.KonnectorNamespace, resp.Kubeconfig, owner)
	if err := apply(ctx, c, secret); err != nil {
		return nil, err
	}
	role := bindingClusterRole(name, receivedResources(resp, o.Group), relatedKinds(resp), owner)
	if err := apply(ctx, c, role); err != nil {
		return nil, err
	}
	p.printf("Applied ServiceBinding %s, its credential Secret %s/%s and ClusterRole %s (the konnector's rights on %s).",
		binding.Name, secret.Namespace, secret.Name, role.Name, joinResources(append(receivedResources(resp, o.Group), relatedKinds(resp)...)))
	return binding, nil
}

// serviceBinding is the ServiceBinding for the backend's answer.
func serviceBinding(name string, resp *bindprotocol.BindResponse, o *ConsumerBind) *bindv1alpha1.ServiceBinding {
	return &bindv1alpha1.ServiceBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: bindv1alpha1.ServiceBindingSpec{
			Backend: o.Backend, Service: o.Service, Consumer: resp.Consumer, ProviderNamespace: resp.Namespace,
			CredentialSecret: bindv1alpha1.SecretReference{Namespace: o.KonnectorNamespace, Name: credentialSecretName(name)},
			Group:            o.Group,
		},
	}
}

// checkSameConsumer refuses to point an existing binding at another Consumer (another user
// signed in, say): the field is immutable, and the objects already synced belong to the first.
func checkSameConsumer(ctx context.Context, c client.Client, want *bindv1alpha1.ServiceBinding) error {
	existing := &bindv1alpha1.ServiceBinding{}
	err := c.Get(ctx, client.ObjectKeyFromObject(want), existing)
	if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading ServiceBinding %s: %w", want.Name, err)
	}
	if existing.Spec.Consumer != want.Spec.Consumer || existing.Spec.ProviderNamespace != want.Spec.ProviderNamespace {
		return fmt.Errorf("ServiceBinding %s is bound for consumer %s (provider namespace %s), but the backend answered consumer %s, "+
			"so you are probably signed in as someone else: sign in as that user, bind under another --name, or unbind %s first",
			want.Name, existing.Spec.Consumer, existing.Spec.ProviderNamespace, want.Spec.Consumer, want.Name)
	}
	return nil
}

// credentialSecret holds the provider kubeconfig under the key the konnector reads.
func credentialSecret(binding, namespace string, kubeconfig []byte, owner metav1.OwnerReference) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: credentialSecretName(binding), Namespace: namespace,
			Labels:          map[string]string{bindingLabel: templating.DNSLabel(binding)},
			OwnerReferences: []metav1.OwnerReference{owner},
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{bindv1alpha1.CredentialKubeconfigKey: kubeconfig},
	}
}

// bindingClusterRole is konnectorrbac's per-binding ClusterRole, owned by the binding.
func bindingClusterRole(binding string, resources, related []schema.GroupResource, owner metav1.OwnerReference) *rbacv1.ClusterRole {
	role := konnectorrbac.BindingClusterRole(binding, resources, related...)
	role.OwnerReferences = []metav1.OwnerReference{owner}
	return role
}

// receivedResources are the resources the binding receives, as they are served in the consumer
// cluster: under group when one was asked for, else under the provider's consumer-facing group.
func receivedResources(resp *bindprotocol.BindResponse, group string) []schema.GroupResource {
	resources := make([]schema.GroupResource, 0, len(resp.Resources))
	for _, r := range resp.Resources {
		gr := schema.GroupResource{Group: r.Consumer.Group, Resource: r.Consumer.Resource}
		if group != "" {
			gr.Group = group
		}
		resources = append(resources, gr)
	}
	return resources
}

// relatedKinds are the kinds of related objects the binding's resources carry, as the consumer
// cluster serves them (not renamed with the binding's group: only the primary resources are).
func relatedKinds(resp *bindprotocol.BindResponse) []schema.GroupResource {
	var kinds []schema.GroupResource
	for _, r := range resp.Resources {
		for _, rel := range r.Related {
			kinds = append(kinds, schema.GroupResource{Group: rel.Group, Resource: rel.Resource})
		}
	}
	return kinds
}

// joinResources lists resources as resource.group, the way kubectl names them.
func joinResources(resources []schema.GroupResource) string {
	names := make([]string, 0, len(resources))
	for _, gr := range resources {
		names = append(names, gr.String())
	}
	if len(names) == 0 {
		return "no resources"
	}
	return strings.Join(names, ", ")
}

// ensureNamespace creates the konnector's namespace when it is missing, and leaves an existing
// one alone (it may be a namespace of the user's with labels of its own).
func ensureNamespace(ctx context.Context, c client.Client, name string) error {
	err := c.Get(ctx, client.ObjectKey{Name: name}, &corev1.Namespace{})
	if apierrors.IsNotFound(err) {
		err = c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("making sure the namespace %s for the konnector and the credential exists: %w", name, err)
	}
	return nil
}

// ensureServiceBindingCRD installs or updates the ServiceBinding CRD as crdNeedsUpdate decides,
// and waits until it is served.
func ensureServiceBindingCRD(ctx context.Context, c client.Client, p progress) error {
	crd, err := embeddedServiceBindingCRD()
	if err != nil {
		return err
	}
	existing := &apiextensionsv1.CustomResourceDefinition{}
	err = c.Get(ctx, client.ObjectKeyFromObject(crd), existing)
	switch {
	case apierrors.IsNotFound(err):
		existing = nil
	case err != nil:
		return fmt.Errorf("reading the ServiceBinding CRD: %w (bind installs it, and needs to read and write customresourcedefinitions)", err)
	}
	if !crdNeedsUpdate(existing, crd, cliVersion()) {
		return waitEstablished(ctx, c, crd.Name)
	}
	crd.Annotations = map[string]string{crdVersionAnnotation: cliVersion()}
	if err := apply(ctx, c, crd); err != nil {
		return fmt.Errorf("installing the ServiceBinding CRD: %w", err)
	}
	verb := "Installed"
	if existing != nil {
		verb = "Updated"
	}
	p.printf("%s the ServiceBinding CRD (%s).", verb, crd.Name)
	return waitEstablished(ctx, c, crd.Name)
}

// embeddedServiceBindingCRD is the CRD this CLI was built with.
func embeddedServiceBindingCRD() (*apiextensionsv1.CustomResourceDefinition, error) {
	data, err := deploy.CRDs.ReadFile(serviceBindingCRDFile)
	if err != nil {
		return nil, err
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal(data, crd); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", serviceBindingCRDFile, err)
	}
	crd.Annotations = nil
	return crd, nil
}

// crdNeedsUpdate decides whether bind writes the ServiceBinding CRD: when it is missing; when
// both it and this CLI carry release versions, exactly when it was installed by an older one;
// otherwise (installed by hand or a chart, or a development build on either side) only when it
// lacks a version this CLI writes, so that bind never takes a CRD back to an older schema.
func crdNeedsUpdate(existing, embedded *apiextensionsv1.CustomResourceDefinition, cli string) bool {
	if existing == nil {
		return true
	}
	ours, oursErr := utilversion.ParseSemantic(cli)
	theirs, theirsErr := utilversion.ParseSemantic(existing.Annotations[crdVersionAnnotation])
	if oursErr == nil && theirsErr == nil {
		return theirs.LessThan(ours)
	}
	served := sets.New[string]()
	for _, v := range existing.Spec.Versions {
		served.Insert(v.Name)
	}
	for _, v := range embedded.Spec.Versions {
		if !served.Has(v.Name) {
			return true
		}
	}
	return false
}

// waitEstablished waits until the CRD is Established, so that ServiceBindings can be created.
func waitEstablished(ctx context.Context, c client.Client, name string) error {
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, establishTimeout, true, func(ctx context.Context) (bool, error) {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
			return false, nil
		}
		for _, cond := range crd.Status.Conditions {
			if cond.Type == apiextensionsv1.Established {
				return cond.Status == apiextensionsv1.ConditionTrue, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("the CRD %s is not established after %s: kubectl get crd %s -o yaml shows why in its conditions", name, establishTimeout, name)
	}
	return nil
}
