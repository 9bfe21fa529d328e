package publishing

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/mutation"
	"github.com/bindery-dev/bindery/pkg/templating"
)

// ValidateSpec finds what CRD validation cannot: templates, CEL expressions and regexes that do
// not compile, bad label selectors and paths. Every error names its field.
func ValidateSpec(spec syncagentv1alpha1.PublishedResourceSpec) field.ErrorList {
	root := field.NewPath("spec")
	var errs field.ErrorList
	if n := spec.Naming; n != nil {
		errs = append(errs, validateTemplate(root.Child("naming", "namespace"), n.Namespace)...)
		errs = append(errs, validateTemplate(root.Child("naming", "name"), n.Name)...)
	}
	if f := spec.Filter; f != nil {
		errs = append(errs, validateSelector(root.Child("filter", "namespace"), f.Namespace)...)
		errs = append(errs, validateSelector(root.Child("filter", "resource"), f.Resource)...)
	}
	errs = append(errs, validateMutation(root.Child("mutation"), spec.Mutation)...)
	for i, related := range spec.Related {
		errs = append(errs, validateRelated(root.Child("related").Index(i), related)...)
	}
	return errs
}

func validateRelated(path *field.Path, r syncagentv1alpha1.RelatedResource) field.ErrorList {
	var errs field.ErrorList
	object := path.Child("object")
	if ref := r.Object.Reference; ref != nil {
		if _, err := mutation.ParsePath(ref.Path); err != nil {
			errs = append(errs, field.Invalid(object.Child("reference", "path"), ref.Path, err.Error()))
		}
	}
	if tmpl := r.Object.Template; tmpl != nil {
		errs = append(errs, validateTemplate(object.Child("template", "name"), tmpl.Name)...)
		errs = append(errs, validateTemplate(object.Child("template", "namespace"), tmpl.Namespace)...)
	}
	if sel := r.Object.Selector; sel != nil {
		// matchLabels values are templates, checked as such; the keys and expressions as usual.
		untemplated := sel.DeepCopy()
		untemplated.MatchLabels = nil
		errs = append(errs, validateSelector(object.Child("selector"), untemplated)...)
		for key, value := range sel.MatchLabels {
			labelPath := object.Child("selector", "matchLabels").Key(key)
			for _, msg := range validation.IsQualifiedName(key) {
				errs = append(errs, field.Invalid(labelPath, key, "not a valid label key: "+msg))
			}
			errs = append(errs, validateTemplate(labelPath, value)...)
		}
	}
	return append(errs, validateMutation(path.Child("mutation"), r.Mutation)...)
}

func validateMutation(path *field.Path, m *syncagentv1alpha1.Mutation) field.ErrorList {
	if m == nil {
		return nil
	}
	return append(mutation.Validate(path.Child("spec"), m.Spec), mutation.Validate(path.Child("status"), m.Status)...)
}

func validateTemplate(path *field.Path, text string) field.ErrorList {
	if text == "" {
		return nil
	}
	if _, err := templating.Parse(path.String(), text); err != nil {
		return field.ErrorList{field.Invalid(path, text, err.Error())}
	}
	return nil
}

func validateSelector(path *field.Path, sel *metav1.LabelSelector) field.ErrorList {
	if sel == nil {
		return nil
	}
	if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
		return field.ErrorList{field.Invalid(path, sel.String(), err.Error())}
	}
	return nil
}
