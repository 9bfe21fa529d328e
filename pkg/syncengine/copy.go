package syncengine

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/bindery-dev/bindery/pkg/mutation"
	"github.com/bindery-dev/bindery/pkg/templating"
)

// reservedDomains are label and annotation prefix domains (with all their subdomains) that
// belong to Kubernetes, kcp and bindery itself. Keys under them describe the object in its own
// cluster (controller bookkeeping, kcp's cluster annotation, bindery's marks) and are never
// copied to the other side.
var reservedDomains = []string{"kubernetes.io", "k8s.io", "kcp.io", "bindery.dev"}

// lastAppliedAnnotation is kubectl's record of the user's last apply. It is covered by the
// kubernetes.io rule too; it is named here because copying it would be the most harmful case.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// reservedKey reports whether a label or annotation key must not travel between clusters:
// its prefix is kubernetes.io, k8s.io, kcp.io or bindery.dev, or a subdomain of one of them.
func reservedKey(key string) bool {
	if key == lastAppliedAnnotation {
		return true
	}
	prefix, _, found := strings.Cut(key, "/")
	if !found {
		return false
	}
	prefix = strings.ToLower(prefix)
	for _, d := range reservedDomains {
		if prefix == d || strings.HasSuffix(prefix, "."+d) {
			return true
		}
	}
	return false
}

// CopySpec says what the copy of a source object looks like beyond its content.
type CopySpec struct {
	// GVK is the copy's kind in the target cluster (the projection is resolved by the caller).
	GVK schema.GroupVersionKind
	// Namespace and Name are where the copy lands (Namer.Locate); Namespace is "" for a
	// cluster-scoped target.
	Namespace string
	Name      string
	// Owner is written as the copy's ownership marks.
	Owner Owner
	// Mutation rewrites the object on its way to the target; nil means none.
	Mutation *mutation.Program
	// Data is what the mutation's templates and CEL expressions see besides the object.
	Data templating.Data
}

// DesiredCopy returns the object the engine wants at the target for source:
//
//   - the spec mutation is applied to a deep copy of the whole source object, so that steps see
//     the object as its owner wrote it (metadata and status included); source is never changed;
//   - from the result, every top-level field except apiVersion, kind, metadata and status is
//     copied, and of the metadata only the labels and annotations whose keys are not reserved
//     (reservedKey): no uid, resourceVersion, generation, managedFields, finalizers,
//     ownerReferences or timestamps;
//   - the engine's fields are set last, so that a mutation cannot change them: the target GVK,
//     namespace and name, and the ownership marks of spec.Owner.
func DesiredCopy(source *unstructured.Unstructured, spec CopySpec) (*unstructured.Unstructured, error) {
	if source == nil || source.Object == nil {
		return nil, errors.New("no source object")
	}
	if err := validateCopySpec(spec); err != nil {
		return nil, err
	}

	work, err := deepCopyObject(source.Object)
	if err != nil {
		return nil, fmt.Errorf("copying the source object: %w", err)
	}
	if err := spec.Mutation.Apply(work, spec.Data); err != nil {
		return nil, fmt.Errorf("mutating the copy: %w", err)
	}

	out := &unstructured.Unstructured{Object: make(map[string]any, len(work))}
	for k, v := range work {
		switch k {
		case "apiVersion", "kind", "metadata", "status":
			continue
		}
		// work is already a private deep copy: its values can move into out.
		out.Object[k] = v
	}

	labels, err := unreservedStrings(work, "labels")
	if err != nil {
		return nil, err
	}
	annotations, err := unreservedStrings(work, "annotations")
	if err != nil {
		return nil, err
	}
	out.SetGroupVersionKind(spec.GVK)
	out.SetNamespace(spec.Namespace)
	out.SetName(spec.Name)
	out.SetLabels(labels)
	out.SetAnnotations(annotations)
	Mark(out, spec.Owner)
	return out, nil
}

func validateCopySpec(spec CopySpec) error {
	var errs []error
	if spec.GVK.Kind == "" || spec.GVK.Version == "" {
		errs = append(errs, fmt.Errorf("target kind %q needs a version and a kind", spec.GVK.String()))
	}
	if spec.Name == "" {
		errs = append(errs, errors.New("target name must not be empty"))
	}
	if err := spec.Owner.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("owner: %w", err))
	}
	if spec.Owner.Source.Kind.Empty() {
		errs = append(errs, errors.New("owner: the source kind is required, so that the marks name it"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid copy spec: %w", err)
	}
	return nil
}

// unreservedStrings returns metadata.<field> of obj (labels or annotations) without the
// reserved keys. A value that is not a string (a mutation can put one there) is an error.
func unreservedStrings(obj map[string]any, fieldName string) (map[string]string, error) {
	m, _, err := unstructured.NestedStringMap(obj, "metadata", fieldName)
	if err != nil {
		return nil, fmt.Errorf("reading metadata.%s: %w", fieldName, err)
	}
	for k := range m {
		if reservedKey(k) {
			delete(m, k)
		}
	}
	return m, nil
}

// StatusUp returns the status to write back to the source object: the copy's status, deep
// copied, after the status mutation (nil means none). The mutation runs on a deep copy of the
// whole copy object, so steps can read its spec and metadata; only its status is returned.
// The bool is false when the copy has no status yet (the mutation does not run then, so that
// steps reading status fields do not fail before the provider reports any) or when the
// mutation removed it.
func StatusUp(copyObj *unstructured.Unstructured, status *mutation.Program, data templating.Data) (map[string]any, bool, error) {
	if copyObj == nil || copyObj.Object["status"] == nil {
		return nil, false, nil
	}
	if _, ok := copyObj.Object["status"].(map[string]any); !ok {
		return nil, false, fmt.Errorf("status of the copy is %T, not an object", copyObj.Object["status"])
	}
	work, err := deepCopyObject(copyObj.Object)
	if err != nil {
		return nil, false, fmt.Errorf("copying the copy: %w", err)
	}
	if err := status.Apply(work, data); err != nil {
		return nil, false, fmt.Errorf("mutating the status: %w", err)
	}
	switch st := work["status"].(type) {
	case nil:
		return nil, false, nil
	case map[string]any:
		return st, true, nil
	default:
		return nil, false, fmt.Errorf("status mutation left status as %T, not an object", st)
	}
}

// deepCopyObject deep-copies an unstructured object. Unlike runtime.DeepCopyJSON it returns an
// error instead of panicking on a value that is not JSON-compatible, naming where it is.
func deepCopyObject(obj map[string]any) (map[string]any, error) {
	out, err := deepCopyValue(obj, "")
	if err != nil {
		return nil, err
	}
	return out.(map[string]any), nil
}

func deepCopyValue(v any, at string) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			c, err := deepCopyValue(e, join(at, k))
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			c, err := deepCopyValue(e, fmt.Sprintf("%s[%d]", at, i))
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case nil, string, bool, int64, float64, json.Number:
		return v, nil
	default:
		return nil, fmt.Errorf("%s holds a %T, which is not a JSON value", at, v)
	}
}

func join(at, key string) string {
	if at == "" {
		return key
	}
	return at + "." + key
}
