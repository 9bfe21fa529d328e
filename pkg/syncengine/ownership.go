package syncengine

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/bindery-dev/bindery/pkg/templating"
)

// The ownership marks the engine puts on every copy. Labels make copies selectable (all copies
// of an agent, the copy of one source object); annotations hold the full source identity, which
// can be longer than a label value allows.
const (
	// AgentLabel holds the name of the agent that manages the copy.
	AgentLabel = "sync.bindery.dev/agent"
	// SourceLabel holds Source.Hash() of the source object, for selecting its copy.
	SourceLabel = "sync.bindery.dev/source"
	// SourceClusterAnnotation holds the source object's cluster name.
	SourceClusterAnnotation = "sync.bindery.dev/source-cluster"
	// SourceNamespaceAnnotation holds the source object's namespace; it is absent for a
	// cluster-scoped source.
	SourceNamespaceAnnotation = "sync.bindery.dev/source-namespace"
	// SourceNameAnnotation holds the source object's name.
	SourceNameAnnotation = "sync.bindery.dev/source-name"
	// SourceKindAnnotation holds the source object's kind as Kind.group (Kind for the core
	// group). Two syncs can copy different source kinds into one destination kind; the kind tells
	// their copies apart, so that neither ever reads, adopts or deletes the other's.
	SourceKindAnnotation = "sync.bindery.dev/source-kind"
)

// Source identifies the object a copy is made from: its cluster (a logical cluster name, or the
// konnector's name for the consumer cluster), kind, namespace ("" if cluster-scoped) and name.
//
// Kind is empty only in marks written before the engine recorded it (legacy marks): such a copy
// is still recognised as the copy of cluster/namespace/name, and adopted (its marks completed) by
// the sync that finds it at its own target, but it is never deleted on the strength of those marks
// alone, since they cannot say which sync made it.
type Source struct {
	Cluster   string
	Kind      schema.GroupKind
	Namespace string
	Name      string
}

// SourceOf returns the Source of obj, an object of kind in cluster.
func SourceOf(cluster string, kind schema.GroupKind, obj metav1.Object) Source {
	return Source{Cluster: cluster, Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

// Is reports whether s and other name the same object, where a legacy mark (no kind) matches any
// kind. Use it to recognise a copy before writing it; deciding to delete one needs s == other.
func (s Source) Is(other Source) bool {
	if s.Kind.Empty() || other.Kind.Empty() {
		s.Kind, other.Kind = schema.GroupKind{}, schema.GroupKind{}
	}
	return s == other
}

// OfKind reports whether s may be a source object of kind: its marks name that kind, or no kind
// (legacy marks).
func (s Source) OfKind(kind schema.GroupKind) bool {
	return s.Kind.Empty() || s.Kind == kind
}

// Hash is the value of the SourceLabel label: templating.ShortHash(cluster, namespace, name).
// It is short enough for a label value; a label selector on it narrows the search, and the
// annotations confirm the match (40 bits can collide, and copies of two kinds share a hash). It
// leaves the kind out so that legacy marks keep their label.
func (s Source) Hash() string {
	return templating.ShortHash(s.Cluster, s.Namespace, s.Name)
}

// String returns the source as cluster/Kind.group/namespace/name (cluster/Kind.group//name when
// cluster-scoped), for logs on the provider side; do not show it to other consumers.
func (s Source) String() string {
	return s.Cluster + "/" + kindString(s.Kind) + "/" + s.Namespace + "/" + s.Name
}

// kindString writes a kind as the SourceKindAnnotation holds it: Kind.group, or Kind for the core
// group.
func kindString(gk schema.GroupKind) string {
	if gk.Group == "" {
		return gk.Kind
	}
	return gk.Kind + "." + gk.Group
}

// parseKind reads kindString's output; kinds never contain a dot, groups may.
func parseKind(s string) schema.GroupKind {
	kind, group, _ := strings.Cut(s, ".")
	return schema.GroupKind{Group: group, Kind: kind}
}

// Validate checks that s can be written as marks and read back: cluster and name are required,
// no part contains "/", which Hash uses as its separator (Kubernetes names and logical cluster
// names never do), and a kind, where given, has no "." (Kubernetes kinds never do).
func (s Source) Validate() error {
	var errs []error
	if s.Cluster == "" {
		errs = append(errs, errors.New("source cluster must not be empty"))
	}
	if s.Name == "" {
		errs = append(errs, errors.New("source name must not be empty"))
	}
	if strings.Contains(s.Kind.Kind, ".") || (s.Kind.Kind == "" && s.Kind.Group != "") {
		errs = append(errs, fmt.Errorf("source kind %q must be a kind without \".\"", s.Kind.Kind))
	}
	for _, p := range []struct{ what, value string }{{"cluster", s.Cluster}, {"namespace", s.Namespace}, {"name", s.Name}} {
		if strings.Contains(p.value, "/") {
			errs = append(errs, fmt.Errorf("source %s %q must not contain \"/\"", p.what, p.value))
		}
	}
	return errors.Join(errs...)
}

// Owner is what the marks on a copy say: which agent manages it, and which object it copies.
type Owner struct {
	Agent  string
	Source Source
}

// Validate checks the agent name (ValidateAgentName) and the source (Source.Validate). Marks of
// a valid Owner round-trip: OwnerOf(Mark(obj, o)) == o.
func (o Owner) Validate() error {
	return errors.Join(ValidateAgentName(o.Agent), o.Source.Validate())
}

// Labels returns the labels that select the copy of o.Source made by o.Agent. A match still has
// to be confirmed with OwnerOf, because the source hash is short.
func (o Owner) Labels() map[string]string {
	return map[string]string{AgentLabel: o.Agent, SourceLabel: o.Source.Hash()}
}

// ValidateAgentName checks that name is usable as an agent name: a DNS-1123 label (at most 63
// lowercase alphanumerics and "-"), which also makes it a valid label value.
func ValidateAgentName(name string) error {
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return fmt.Errorf("agent name %q is invalid: %s", name, strings.Join(errs, "; "))
	}
	return nil
}

// Mark puts the ownership marks of o on obj, replacing earlier marks and keeping every other
// label and annotation. It installs fresh label and annotation maps, so maps shared with
// another object are not changed. Callers validate o first (Owner.Validate); marks of an
// invalid Owner are not recognised by OwnerOf.
func Mark(obj metav1.Object, o Owner) {
	labels := make(map[string]string, len(obj.GetLabels())+2)
	for k, v := range obj.GetLabels() {
		labels[k] = v
	}
	labels[AgentLabel] = o.Agent
	labels[SourceLabel] = o.Source.Hash()
	obj.SetLabels(labels)

	annotations := make(map[string]string, len(obj.GetAnnotations())+3)
	for k, v := range obj.GetAnnotations() {
		annotations[k] = v
	}
	annotations[SourceClusterAnnotation] = o.Source.Cluster
	annotations[SourceNameAnnotation] = o.Source.Name
	if !o.Source.Kind.Empty() {
		annotations[SourceKindAnnotation] = kindString(o.Source.Kind)
	} else {
		delete(annotations, SourceKindAnnotation)
	}
	if o.Source.Namespace != "" {
		annotations[SourceNamespaceAnnotation] = o.Source.Namespace
	} else {
		delete(annotations, SourceNamespaceAnnotation)
	}
	obj.SetAnnotations(annotations)
}

// OwnerOf reads the ownership marks of obj. It returns false when a mark is missing, when the
// marks do not form a valid Owner, or when the source label does not match the source
// annotations (a copy someone edited by hand, or marks copied from another object): such an
// object proves no ownership, so the engine must not treat it as its copy.
func OwnerOf(obj metav1.Object) (Owner, bool) {
	o, problem := readOwner(obj)
	return o, problem == ""
}

// readOwner is OwnerOf with the reason for a rejection.
func readOwner(obj metav1.Object) (Owner, string) {
	if isNil(obj) {
		return Owner{}, "no object"
	}
	labels, annotations := obj.GetLabels(), obj.GetAnnotations()
	agent, hasAgent := labels[AgentLabel]
	hash, hasHash := labels[SourceLabel]
	cluster, hasCluster := annotations[SourceClusterAnnotation]
	name, hasName := annotations[SourceNameAnnotation]
	if !hasAgent || !hasHash || !hasCluster || !hasName {
		return Owner{}, "ownership marks are missing"
	}
	o := Owner{Agent: agent, Source: Source{
		Cluster: cluster, Kind: parseKind(annotations[SourceKindAnnotation]), Namespace: annotations[SourceNamespaceAnnotation], Name: name,
	}}
	if err := o.Validate(); err != nil {
		return Owner{}, "ownership marks are invalid"
	}
	if hash != o.Source.Hash() {
		return Owner{}, "the source label does not match the source annotations"
	}
	return o, ""
}

// isNil reports whether obj is nil, including a nil pointer in a non-nil interface (a nil
// *unstructured.Unstructured passed as metav1.Object).
func isNil(obj metav1.Object) bool {
	if obj == nil {
		return true
	}
	v := reflect.ValueOf(obj)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// Verdict is what the engine may do at the target name of a copy.
type Verdict int

const (
	// Create: nothing is there yet.
	Create Verdict = iota + 1
	// Update: the object there is this agent's copy of the same source object.
	Update
	// ConflictUnowned: an object without valid ownership marks is there. It is never
	// overwritten or adopted implicitly.
	ConflictUnowned
	// ConflictOtherAgent: another agent manages the object there. It is never touched.
	ConflictOtherAgent
	// ConflictOtherSource: the object there is this agent's copy of a different source object;
	// the naming rules give two source objects the same target name.
	ConflictOtherSource
)

// String returns the verdict's name, which is CamelCase and can serve as a condition reason.
func (v Verdict) String() string {
	switch v {
	case Create:
		return "Create"
	case Update:
		return "Update"
	case ConflictUnowned:
		return "ConflictUnowned"
	case ConflictOtherAgent:
		return "ConflictOtherAgent"
	case ConflictOtherSource:
		return "ConflictOtherSource"
	default:
		return fmt.Sprintf("Verdict(%d)", int(v))
	}
}

// IsConflict reports whether v forbids writing the copy.
func (v Verdict) IsConflict() bool {
	return v == ConflictUnowned || v == ConflictOtherAgent || v == ConflictOtherSource
}

// Decide says whether the copy for want may be written over existing, the object currently at
// the copy's target name (nil if there is none). For a conflict it also returns a message for
// the user who owns the source object. The message names the target object by name only: it
// never reveals the other agent, the other source object or its consumer.
func Decide(existing metav1.Object, want Owner) (Verdict, string) {
	if isNil(existing) {
		return Create, ""
	}
	name := existing.GetName()
	agent, hasAgent := existing.GetLabels()[AgentLabel]
	switch {
	case !hasAgent || agent == "":
		return ConflictUnowned, fmt.Sprintf("an object named %q already exists in the target cluster and was not created by bindery; "+
			"it is never overwritten: remove it there, or change the naming rules so that the copy lands elsewhere", name)
	case agent != want.Agent:
		return ConflictOtherAgent, fmt.Sprintf("an object named %q in the target cluster is managed by another bindery agent; "+
			"it is never touched: change the naming rules so that the copy lands elsewhere", name)
	}
	have, problem := readOwner(existing)
	if problem != "" {
		return ConflictUnowned, fmt.Sprintf("an object named %q in the target cluster has incomplete or inconsistent bindery ownership marks (%s); "+
			"it is not overwritten: remove it there, or restore its marks", name, problem)
	}
	if !have.Source.Is(want.Source) {
		return ConflictOtherSource, fmt.Sprintf("an object named %q in the target cluster is already the copy of another object: "+
			"the naming rules give two objects the same name; change them so that names are unique", name)
	}
	return Update, ""
}
