package syncengine

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/templating"
)

// DefaultNamespaceTemplate puts the copies of each source cluster into a namespace of their own.
const DefaultNamespaceTemplate = "{{ .ClusterName }}"

var (
	namespaceField = field.NewPath("spec", "naming", "namespace")
	nameField      = field.NewPath("spec", "naming", "name")
)

// Namer decides where the copy of a source object lands. It is compiled once from a
// PublishedResource's spec.naming and is safe for concurrent use.
//
// The default name is computed in Go rather than by a template, so that it works for
// cluster-scoped source objects (which have no metadata.namespace) as well as namespaced ones:
//
//   - namespaced target: templating.DNSLabel(namespace, name) for a namespaced source,
//     templating.DNSLabel(name) for a cluster-scoped one; the namespace (one per source cluster
//     by default) keeps the clusters apart;
//   - cluster-scoped target: the same with the source cluster name as the first part, since
//     there is no namespace to keep the clusters apart.
//
// DNSLabel keeps the result a valid DNS label (hence also a subdomain) and distinct for
// distinct sources: ("a-b", "c") and ("a", "b-c") do not share a name.
type Namer struct {
	namespace *templating.Template
	// name is nil for the default name.
	name *templating.Template
}

// NewNamer compiles n (nil means all defaults). Template errors name their field
// (spec.naming.namespace or spec.naming.name).
func NewNamer(n *syncagentv1alpha1.Naming) (*Namer, error) {
	nsText := DefaultNamespaceTemplate
	var nameText string
	if n != nil {
		if n.Namespace != "" {
			nsText = n.Namespace
		}
		nameText = n.Name
	}
	ns, err := templating.Parse(namespaceField.String(), nsText)
	if err != nil {
		return nil, err
	}
	namer := &Namer{namespace: ns}
	if nameText != "" {
		if namer.name, err = templating.Parse(nameField.String(), nameText); err != nil {
			return nil, err
		}
	}
	return namer, nil
}

// Locate returns the namespace and name of the copy of data.Object, the source object, which
// lives in data.ClusterName. For a cluster-scoped target the namespace is "" and its template
// is not rendered. Rendered values are trimmed of surrounding whitespace (a YAML block scalar
// leaves a newline) and must be a DNS-1123 label (namespace) and a DNS-1123 subdomain (name);
// errors name the field and the value.
func (n *Namer) Locate(data templating.Data, clusterScopedTarget bool) (namespace, name string, err error) {
	if !clusterScopedTarget {
		out, err := n.namespace.Render(data)
		if err != nil {
			return "", "", err
		}
		namespace = strings.TrimSpace(out)
		if errs := validation.IsDNS1123Label(namespace); len(errs) > 0 {
			return "", "", field.Invalid(namespaceField, namespace, "not a valid namespace: "+strings.Join(errs, "; "))
		}
	}

	if n.name == nil {
		name, err = defaultName(data, clusterScopedTarget)
		if err != nil {
			return "", "", err
		}
	} else {
		out, err := n.name.Render(data)
		if err != nil {
			return "", "", err
		}
		name = strings.TrimSpace(out)
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return "", "", field.Invalid(nameField, name, "not a valid object name: "+strings.Join(errs, "; "))
	}
	return namespace, name, nil
}

// defaultName implements the default naming rule documented on Namer.
func defaultName(data templating.Data, clusterScopedTarget bool) (string, error) {
	srcName, _, err := unstructured.NestedString(data.Object, "metadata", "name")
	if err != nil {
		return "", fmt.Errorf("%s: reading the source object's name: %w", nameField, err)
	}
	if srcName == "" {
		return "", fmt.Errorf("%s: the source object has no metadata.name", nameField)
	}
	srcNamespace, _, err := unstructured.NestedString(data.Object, "metadata", "namespace")
	if err != nil {
		return "", fmt.Errorf("%s: reading the source object's namespace: %w", nameField, err)
	}

	var parts []string
	if clusterScopedTarget {
		parts = append(parts, data.ClusterName)
	}
	if srcNamespace != "" {
		parts = append(parts, srcNamespace)
	}
	return templating.DNSLabel(append(parts, srcName)...), nil
}
