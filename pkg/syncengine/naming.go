package syncengine

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/bindery-dev/bindery/pkg/templating"
)

// DefaultNamespaceTemplate puts the copies of each source cluster into a namespace of their own.
const DefaultNamespaceTemplate = "{{ .ClusterName }}"

// Naming configures a Namer.
type Naming struct {
	// Namespace and Name are Go templates for the copy's namespace and name; "" picks the
	// default rules described on Namer.
	Namespace, Name string
	// Field is where they come from in the user's configuration (spec.naming of a
	// PublishedResource, say): errors name Field.Child("namespace") or Field.Child("name").
	// nil means "naming".
	Field *field.Path
}

// Namer decides where the copy of a source object lands. It is compiled once from a Naming and is
// safe for concurrent use.
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
	// namespaceField and nameField are named in errors.
	namespaceField, nameField *field.Path
}

// NewNamer compiles n. Template errors name their field (Field.Child("namespace") or
// Field.Child("name")).
func NewNamer(n Naming) (*Namer, error) {
	if n.Field == nil {
		n.Field = field.NewPath("naming")
	}
	if n.Namespace == "" {
		n.Namespace = DefaultNamespaceTemplate
	}
	namer := &Namer{namespaceField: n.Field.Child("namespace"), nameField: n.Field.Child("name")}
	var err error
	if namer.namespace, err = templating.Parse(namer.namespaceField.String(), n.Namespace); err != nil {
		return nil, err
	}
	if n.Name != "" {
		if namer.name, err = templating.Parse(namer.nameField.String(), n.Name); err != nil {
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
			return "", "", field.Invalid(n.namespaceField, namespace, "not a valid namespace: "+strings.Join(errs, "; "))
		}
	}

	name, err = n.Name(data, clusterScopedTarget)
	if err != nil {
		return "", "", err
	}
	return namespace, name, nil
}

// Name returns the name of the copy of data.Object, as Locate does, without its namespace: for a
// sync confined to one destination namespace, which takes the place of the namespace template.
func (n *Namer) Name(data templating.Data, clusterScopedTarget bool) (string, error) {
	var name string
	if n.name == nil {
		var err error
		if name, err = defaultName(data, clusterScopedTarget, n.nameField); err != nil {
			return "", err
		}
	} else {
		out, err := n.name.Render(data)
		if err != nil {
			return "", err
		}
		name = strings.TrimSpace(out)
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return "", field.Invalid(n.nameField, name, "not a valid object name: "+strings.Join(errs, "; "))
	}
	return name, nil
}

// defaultName implements the default naming rule documented on Namer.
func defaultName(data templating.Data, clusterScopedTarget bool, nameField *field.Path) (string, error) {
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
