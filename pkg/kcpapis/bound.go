package kcpapis

import (
	"context"
	"fmt"
	"slices"
	"strings"

	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/services"
)

// BoundAPIs are the APIs a kcp workspace has bound through APIBindings, each as the
// CustomResourceDefinition a consumer cluster installs for it.
type BoundAPIs struct {
	// Reader reads the workspace's APIBindings (a cache is fine).
	Reader client.Reader
	// Discovery asks the workspace's discovery and OpenAPI v3 endpoints.
	Discovery discovery.DiscoveryInterface
}

var _ services.APIs = &BoundAPIs{}

// New returns the bound APIs of the workspace cfg addresses (its server URL names the workspace).
func New(reader client.Reader, cfg *rest.Config) (*BoundAPIs, error) {
	d, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("discovery of workspace %s: %w", cfg.Host, err)
	}
	return &BoundAPIs{Reader: reader, Discovery: d}, nil
}

// Source is an APIBinding: binding, rebinding or unbinding an API changes what Find returns.
func (*BoundAPIs) Source() client.Object { return &apisv1alpha2.APIBinding{} }

// Defines reports whether the APIBinding binds a resource of res's group (the binding names
// resources, not kinds).
func (*BoundAPIs) Defines(obj client.Object, res syncagentv1alpha1.SourceResource) bool {
	b, ok := obj.(*apisv1alpha2.APIBinding)
	return ok && slices.ContainsFunc(b.Status.BoundResources, func(r apisv1alpha2.BoundAPIResource) bool { return r.Group == res.APIGroup })
}

// bound is one resource an APIBinding binds.
type bound struct {
	binding  string
	resource string
}

// Find returns the bound API of res's group and kind as a CRD: names, scope, the served versions
// with their schemas and status subresource, as kcp serves them in the workspace. An API that no
// Bound APIBinding binds, or that is not served with that kind, is a *services.APINotFound.
func (b *BoundAPIs) Find(ctx context.Context, res syncagentv1alpha1.SourceResource) (*apiextensionsv1.CustomResourceDefinition, error) {
	candidates, err := b.boundInGroup(ctx, res.APIGroup)
	if err != nil {
		return nil, err
	}
	if len(candidates) == 0 {
		return nil, notBound(fmt.Sprintf(
			"no Bound APIBinding in this workspace binds an API of group %s; bind the APIExport that serves kind %s, or fix the PublishedResource",
			res.APIGroup, res.Kind))
	}
	served, err := b.served(res.APIGroup)
	if err != nil {
		return nil, err
	}
	for _, c := range candidates {
		crd, err := b.definition(res, c.resource, served)
		if err != nil || crd != nil {
			return crd, err
		}
	}
	names := make([]string, 0, len(candidates))
	for _, c := range candidates {
		names = append(names, c.resource+" (APIBinding "+c.binding+")")
	}
	return nil, notBound(fmt.Sprintf(
		"the workspace binds %s of group %s, but none is served with kind %s; fix spec.resource.kind", strings.Join(names, ", "), res.APIGroup, res.Kind))
}

func notBound(detail string) *services.APINotFound {
	return &services.APINotFound{Reason: bindv1alpha1.ServiceReasonAPINotBound, Detail: detail}
}

// boundInGroup lists the resources of group that Bound APIBindings bind.
func (b *BoundAPIs) boundInGroup(ctx context.Context, group string) ([]bound, error) {
	var bindings apisv1alpha2.APIBindingList
	if err := b.Reader.List(ctx, &bindings); err != nil {
		return nil, fmt.Errorf("listing the workspace's APIBindings: %w", err)
	}
	var out []bound
	for _, binding := range bindings.Items {
		if binding.Status.Phase != apisv1alpha2.APIBindingPhaseBound {
			continue
		}
		for _, r := range binding.Status.BoundResources {
			if r.Group == group {
				out = append(out, bound{binding: binding.Name, resource: r.Resource})
			}
		}
	}
	slices.SortFunc(out, func(x, y bound) int { return strings.Compare(x.binding+"/"+x.resource, y.binding+"/"+y.resource) })
	return out, nil
}

// servedGroup is what discovery says of a group: its versions, preferred first, and the
// resources of each.
type servedGroup struct {
	versions  []string
	resources map[string][]metav1.APIResource
}

// served reads the group's versions and resources from discovery.
func (b *BoundAPIs) served(group string) (servedGroup, error) {
	out := servedGroup{resources: map[string][]metav1.APIResource{}}
	groups, err := b.Discovery.ServerGroups()
	if err != nil {
		return out, fmt.Errorf("discovery of the workspace's API groups: %w", err)
	}
	for _, g := range groups.Groups {
		if g.Name != group {
			continue
		}
		out.versions = append(out.versions, g.PreferredVersion.Version)
		for _, v := range g.Versions {
			if v.Version != g.PreferredVersion.Version {
				out.versions = append(out.versions, v.Version)
			}
		}
	}
	for _, v := range out.versions {
		list, err := b.Discovery.ServerResourcesForGroupVersion(schema.GroupVersion{Group: group, Version: v}.String())
		if err != nil {
			return out, fmt.Errorf("discovery of %s/%s in the workspace: %w", group, v, err)
		}
		out.resources[v] = list.APIResources
	}
	return out, nil
}

// definition builds the CRD of resource if discovery serves it with res's kind; nil if not.
func (b *BoundAPIs) definition(res syncagentv1alpha1.SourceResource, resource string, served servedGroup) (*apiextensionsv1.CustomResourceDefinition, error) {
	crd := &apiextensionsv1.CustomResourceDefinition{
		TypeMeta:   metav1.TypeMeta{APIVersion: apiextensionsv1.SchemeGroupVersion.String(), Kind: "CustomResourceDefinition"},
		ObjectMeta: metav1.ObjectMeta{Name: resource + "." + res.APIGroup},
		Spec:       apiextensionsv1.CustomResourceDefinitionSpec{Group: res.APIGroup},
	}
	for _, v := range served.versions {
		r, subresources, ok := findResource(served.resources[v], resource, res.Kind)
		if !ok {
			continue
		}
		if len(crd.Spec.Versions) == 0 {
			crd.Spec.Names = apiextensionsv1.CustomResourceDefinitionNames{
				Plural: r.Name, Singular: r.SingularName, Kind: r.Kind, ListKind: r.Kind + "List",
				ShortNames: r.ShortNames, Categories: r.Categories,
			}
			crd.Spec.Scope = apiextensionsv1.ClusterScoped
			if r.Namespaced {
				crd.Spec.Scope = apiextensionsv1.NamespaceScoped
			}
		}
		openAPI, err := b.versionSchema(res.APIGroup, v, r.Kind)
		if err != nil {
			return nil, err
		}
		version := apiextensionsv1.CustomResourceDefinitionVersion{
			Name: v, Served: true, Storage: len(crd.Spec.Versions) == 0, // the preferred version comes first
			Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: openAPI},
		}
		if subresources.Status != nil {
			version.Subresources = &subresources
		}
		crd.Spec.Versions = append(crd.Spec.Versions, version)
	}
	if len(crd.Spec.Versions) == 0 {
		return nil, nil
	}
	return crd, nil
}

// findResource finds resource with kind in a discovery list, with the subresources it serves
// that a CRD can declare (status; scale needs paths that discovery does not give).
func findResource(list []metav1.APIResource, resource, kind string) (metav1.APIResource, apiextensionsv1.CustomResourceSubresources, bool) {
	var subresources apiextensionsv1.CustomResourceSubresources
	var found *metav1.APIResource
	for i := range list {
		switch list[i].Name {
		case resource:
			if list[i].Kind == kind {
				found = &list[i]
			}
		case resource + "/status":
			subresources.Status = &apiextensionsv1.CustomResourceSubresourceStatus{}
		}
	}
	if found == nil {
		return metav1.APIResource{}, subresources, false
	}
	return *found, subresources, true
}

// versionSchema reads the schema of kind at group/version from the workspace's OpenAPI v3 document.
func (b *BoundAPIs) versionSchema(group, version, kind string) (*apiextensionsv1.JSONSchemaProps, error) {
	paths, err := b.Discovery.OpenAPIV3().Paths()
	if err != nil {
		return nil, fmt.Errorf("reading the workspace's OpenAPI v3 paths: %w", err)
	}
	path := "apis/" + group + "/" + version
	gv, ok := paths[path]
	if !ok {
		return nil, fmt.Errorf("the workspace serves no OpenAPI v3 document for %s/%s", group, version)
	}
	doc, err := gv.Schema("application/json")
	if err != nil {
		return nil, fmt.Errorf("reading the OpenAPI v3 document of %s/%s: %w", group, version, err)
	}
	return SchemaFromOpenAPI(doc, schema.GroupVersionKind{Group: group, Version: version, Kind: kind})
}
