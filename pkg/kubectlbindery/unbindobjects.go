package kubectlbindery

import (
	"context"
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/konnectorrbac"
)

// maxListedLeftovers bounds how many objects a timed-out unbind names.
const maxListedLeftovers = 5

// receivedCRD is a resource a binding receives, with the CRD that serves it, nil when that is
// not installed.
type receivedCRD struct {
	gr  schema.GroupResource
	crd *apiextensionsv1.CustomResourceDefinition
}

// boundResources are the resources the binding receives: those the konnector reports in the
// status, and those its ClusterRole grants (bind wrote them before the konnector reported
// anything), each with its CRD.
func boundResources(ctx context.Context, c client.Client, b *bindv1alpha1.ServiceBinding) ([]receivedCRD, error) {
	var grs []schema.GroupResource
	seen := map[schema.GroupResource]bool{}
	add := func(gr schema.GroupResource) {
		if !seen[gr] && gr.Resource != "" {
			seen[gr] = true
			grs = append(grs, gr)
		}
	}
	for _, r := range b.Status.Resources {
		add(schema.GroupResource{Group: r.Group, Resource: r.Resource})
	}
	role := &rbacv1.ClusterRole{}
	err := c.Get(ctx, client.ObjectKey{Name: konnectorrbac.BindingClusterRoleName(b.Name)}, role)
	if client.IgnoreNotFound(err) != nil {
		return nil, fmt.Errorf("reading the ClusterRole of ServiceBinding %s: %w", b.Name, err)
	}
	for _, gr := range grantedResources(role.Rules) {
		add(gr)
	}
	received := make([]receivedCRD, 0, len(grs))
	for _, gr := range grs {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		err := c.Get(ctx, client.ObjectKey{Name: gr.String()}, crd)
		switch {
		case apierrors.IsNotFound(err):
			crd = nil
		case err != nil:
			return nil, fmt.Errorf("reading the CRD %s: %w", gr, err)
		}
		received = append(received, receivedCRD{gr: gr, crd: crd})
	}
	return received, nil
}

// grantedResources are the resources (not subresources) that rules name.
func grantedResources(rules []rbacv1.PolicyRule) []schema.GroupResource {
	var grs []schema.GroupResource
	for _, rule := range rules {
		for _, group := range rule.APIGroups {
			for _, resource := range rule.Resources {
				if !strings.Contains(resource, "/") {
					grs = append(grs, schema.GroupResource{Group: group, Resource: resource})
				}
			}
		}
	}
	return grs
}

// describeReceived names the resources as kubectl does, resource.group.
func describeReceived(resources []receivedCRD) string {
	if len(resources) == 0 {
		return "no resources"
	}
	names := make([]string, 0, len(resources))
	for _, r := range resources {
		names = append(names, r.gr.String())
	}
	return strings.Join(names, ", ")
}

// crdNames lists the installed CRDs, space-separated as kubectl takes them.
func crdNames(resources []receivedCRD) string {
	var names []string
	for _, r := range resources {
		if r.crd != nil {
			names = append(names, r.crd.Name)
		}
	}
	return strings.Join(names, " ")
}

// deleteObjects deletes the consumer's objects of the received resources and waits until they
// are gone: the konnector holds them with its finalizer until it has deleted their copies at
// the provider.
func (u *unbinder) deleteObjects(ctx context.Context, resources []receivedCRD) error {
	for _, r := range resources {
		if r.crd == nil {
			u.p.printf("%s is not installed here: no objects of it to delete.", r.gr)
			continue
		}
		items, err := u.list(ctx, r)
		if err != nil {
			return err
		}
		for i := range items {
			if err := u.c.Delete(ctx, &items[i]); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("deleting %s %s: %w", r.gr, client.ObjectKeyFromObject(&items[i]), err)
			}
		}
		u.p.printf("Deleting %d object(s) of %s.", len(items), r.gr)
	}
	u.p.printf("Waiting for them to be gone (the konnector deletes their copies at the provider first).")
	var left []unstructured.Unstructured
	err := wait.PollUntilContextTimeout(ctx, waitPoll, u.timeout, true, func(ctx context.Context) (bool, error) {
		left = left[:0]
		for _, r := range resources {
			if r.crd == nil {
				continue
			}
			items, err := u.list(ctx, r)
			if err != nil {
				return false, nil // a busy API server is retried until the deadline
			}
			left = append(left, items...)
		}
		return len(left) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("%d object(s) are still there after %s (%s): the konnector lets each go once it has deleted its copy at the provider. "+
			"Is it running? kubectl -n %s logs deployment/%s. The binding was left in place; run unbind again once they are gone",
			len(left), u.timeout, leftovers(left), u.binding.Spec.CredentialSecret.Namespace, konnectorName)
	}
	u.p.printf("Your objects of %s are gone.", describeReceived(resources))
	return nil
}

// list returns the objects of r in every namespace, through a served version of the CRD.
func (u *unbinder) list(ctx context.Context, r receivedCRD) ([]unstructured.Unstructured, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(schema.GroupVersionKind{Group: r.crd.Spec.Group, Version: servedVersion(r.crd), Kind: r.crd.Spec.Names.ListKind})
	if err := u.c.List(ctx, list); err != nil {
		return nil, fmt.Errorf("listing %s: %w", r.gr, err)
	}
	return list.Items, nil
}

// servedVersion is the version objects are listed through: the storage version when it is
// served, else the first served one.
func servedVersion(crd *apiextensionsv1.CustomResourceDefinition) string {
	version := ""
	for _, v := range crd.Spec.Versions {
		if v.Served && (v.Storage || version == "") {
			version = v.Name
		}
	}
	return version
}

// leftovers names up to maxListedLeftovers objects with the finalizers that hold them.
func leftovers(items []unstructured.Unstructured) string {
	var names []string
	for i, item := range items {
		if i == maxListedLeftovers {
			names = append(names, fmt.Sprintf("and %d more", len(items)-i))
			break
		}
		name := item.GetKind() + " " + client.ObjectKeyFromObject(&item).String()
		if f := item.GetFinalizers(); len(f) > 0 {
			name += fmt.Sprintf(" held by %v", f)
		}
		names = append(names, name)
	}
	return strings.Join(names, ", ")
}
