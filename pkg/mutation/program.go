package mutation

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/google/cel-go/cel"
	"k8s.io/apimachinery/pkg/util/validation/field"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/templating"
)

// Program is a compiled list of mutation steps. It is immutable and safe for concurrent use, so
// one Program compiled from a PublishedResource serves every object synced for it.
type Program struct {
	steps []step
}

// step is one compiled mutation step.
type step interface {
	// kind is the step's field name in the API (delete, regex, template, cel).
	kind() string
	path() Path
	apply(obj map[string]any, data templating.Data) error
}

// Compile compiles steps into a Program. On failure it returns the first problem, prefixed with
// its position in the list ("steps[2].cel.expression: ..."), for callers that only need a yes or
// no; Validate reports all of them.
func Compile(steps []syncagentv1alpha1.MutationStep) (*Program, error) {
	prog, errs := compile(field.NewPath("steps"), steps)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return prog, nil
}

// Validate compiles steps and reports every invalid step under fieldPath (for example
// field.NewPath("spec", "mutation", "spec")), down to the field at fault, such as
// spec.mutation.spec[2].cel.expression. A broken step does not hide problems in later ones.
func Validate(fieldPath *field.Path, steps []syncagentv1alpha1.MutationStep) field.ErrorList {
	_, errs := compile(fieldPath, steps)
	return errs
}

func compile(fieldPath *field.Path, steps []syncagentv1alpha1.MutationStep) (*Program, field.ErrorList) {
	prog := &Program{}
	var errs field.ErrorList
	for i, s := range steps {
		stepPath := fieldPath.Index(i)
		// Every sub-step that is set gets compiled, so that a step with two of them still
		// reports the mistakes in both.
		type candidate struct {
			kind    string
			compile func(*field.Path) (step, field.ErrorList)
		}
		var set []candidate
		if s.Delete != nil {
			set = append(set, candidate{"delete", func(p *field.Path) (step, field.ErrorList) { return compileDelete(p, s.Delete) }})
		}
		if s.Regex != nil {
			set = append(set, candidate{"regex", func(p *field.Path) (step, field.ErrorList) { return compileRegex(p, s.Regex) }})
		}
		if s.Template != nil {
			set = append(set, candidate{"template", func(p *field.Path) (step, field.ErrorList) { return compileTemplate(p, s.Template) }})
		}
		if s.CEL != nil {
			set = append(set, candidate{"cel", func(p *field.Path) (step, field.ErrorList) { return compileCELStep(p, s.CEL) }})
		}
		var (
			compiled []step
			kinds    []string
		)
		for _, c := range set {
			kinds = append(kinds, c.kind)
			st, stErrs := c.compile(stepPath.Child(c.kind))
			if len(stErrs) > 0 {
				errs = append(errs, stErrs...)
				continue
			}
			compiled = append(compiled, st)
		}
		// The CRD enforces this too; checking here keeps a Program well-defined for objects
		// that bypassed admission (or Go callers).
		switch {
		case len(set) == 0:
			errs = append(errs, field.Required(stepPath, "set exactly one of delete, regex, template or cel"))
		case len(set) > 1:
			errs = append(errs, field.Invalid(stepPath, strings.Join(kinds, ", "), "set exactly one of delete, regex, template or cel"))
		case len(compiled) == 1:
			prog.steps = append(prog.steps, compiled[0])
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return prog, nil
}

// compilePath parses the path field of a step.
func compilePath(fieldPath *field.Path, p string) (Path, field.ErrorList) {
	if p == "" {
		return Path{}, field.ErrorList{field.Required(fieldPath, "")}
	}
	parsed, err := ParsePath(p)
	if err != nil {
		return Path{}, field.ErrorList{field.Invalid(fieldPath, p, err.Error())}
	}
	return parsed, nil
}

// Apply runs the steps in order on obj, changing it in place. data supplies the cluster name
// and path; template steps see the object as it is after the preceding steps, whatever
// data.Object holds. Errors name the failing step and its path. On error obj may already
// have been changed by earlier steps, so callers that must not see half a mutation work on
// a copy.
func (p *Program) Apply(obj map[string]any, data templating.Data) error {
	if p == nil {
		return nil
	}
	if obj == nil {
		if len(p.steps) == 0 {
			return nil
		}
		return errors.New("cannot mutate a nil object")
	}
	for i, s := range p.steps {
		if err := s.apply(obj, data); err != nil {
			return fmt.Errorf("steps[%d].%s at %q: %w", i, s.kind(), s.path().String(), err)
		}
	}
	return nil
}

// Len is the number of steps.
func (p *Program) Len() int {
	if p == nil {
		return 0
	}
	return len(p.steps)
}

// deleteStep removes a field.
type deleteStep struct {
	target Path
}

func compileDelete(fieldPath *field.Path, s *syncagentv1alpha1.DeleteStep) (step, field.ErrorList) {
	target, errs := compilePath(fieldPath.Child("path"), s.Path)
	if len(errs) > 0 {
		return nil, errs
	}
	return &deleteStep{target: target}, nil
}

func (s *deleteStep) kind() string { return "delete" }
func (s *deleteStep) path() Path   { return s.target }

func (s *deleteStep) apply(obj map[string]any, _ templating.Data) error {
	return s.target.Delete(obj)
}

// regexStep rewrites a string field.
type regexStep struct {
	target      Path
	re          *regexp.Regexp
	replacement string
}

func compileRegex(fieldPath *field.Path, s *syncagentv1alpha1.RegexStep) (step, field.ErrorList) {
	target, errs := compilePath(fieldPath.Child("path"), s.Path)
	var re *regexp.Regexp
	if s.Pattern == "" {
		errs = append(errs, field.Required(fieldPath.Child("pattern"), ""))
	} else {
		var err error
		if re, err = regexp.Compile(s.Pattern); err != nil {
			errs = append(errs, field.Invalid(fieldPath.Child("pattern"), s.Pattern, err.Error()))
		} else if err := checkReplacement(re, s.Replacement); err != nil {
			errs = append(errs, field.Invalid(fieldPath.Child("replacement"), s.Replacement, err.Error()))
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return &regexStep{target: target, re: re, replacement: s.Replacement}, nil
}

func (s *regexStep) kind() string { return "regex" }
func (s *regexStep) path() Path   { return s.target }

// apply leaves absent (and null) fields alone: there is nothing to rewrite.
func (s *regexStep) apply(obj map[string]any, _ templating.Data) error {
	v, found, err := s.target.Get(obj)
	if err != nil {
		return err
	}
	if !found || v == nil {
		return nil
	}
	str, ok := v.(string)
	if !ok {
		return fmt.Errorf("the field is %s, but a regex step needs a string", describe(v))
	}
	return s.target.Set(obj, s.re.ReplaceAllString(str, s.replacement))
}

// checkReplacement rejects group references ($name or ${name}) that the pattern does not define.
// regexp would expand them to nothing, which usually hides a typo or the classic "$1x" (group
// "1x") that should have been "${1}x". It reads references the way regexp.Expand does.
func checkReplacement(re *regexp.Regexp, repl string) error {
	for i := 0; i < len(repl); i++ {
		if repl[i] != '$' {
			continue
		}
		if strings.HasPrefix(repl[i+1:], "$") { // "$$" is a literal "$"
			i++
			continue
		}
		name, braced, ok := extractGroupRef(repl[i+1:])
		if !ok || groupExists(re, name) {
			continue // malformed references stay literal text in regexp.Expand
		}
		hint := ""
		if digits := leadingDigits(name); !braced && digits != "" && digits != name {
			rest := name[len(digits):]
			hint = fmt.Sprintf(" (write ${%s}%s to follow group %s with %q)", digits, rest, digits, rest)
		}
		return fmt.Errorf("refers to group %q, which the pattern does not define%s", name, hint)
	}
	return nil
}

// extractGroupRef reads the group name at the start of s (the text after a "$"), either a run
// of letters, digits and "_" or the same in braces.
func extractGroupRef(s string) (name string, braced, ok bool) {
	if strings.HasPrefix(s, "{") {
		s, braced = s[1:], true
	}
	end := strings.IndexFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' })
	if end < 0 {
		end = len(s)
	}
	if end == 0 || (braced && !strings.HasPrefix(s[end:], "}")) {
		return "", false, false
	}
	return s[:end], braced, true
}

func leadingDigits(s string) string {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return s[:n]
}

// groupExists resolves a reference like regexp.Expand: a decimal number without leading zeros
// is a group index, anything else a group name.
func groupExists(re *regexp.Regexp, name string) bool {
	if isNumber(name) && (name == "0" || name[0] != '0') {
		n, err := strconv.Atoi(name)
		return err == nil && n <= re.NumSubexp()
	}
	return re.SubexpIndex(name) >= 0
}

// templateStep sets a field to a rendered template.
type templateStep struct {
	target Path
	tmpl   *templating.Template
}

func compileTemplate(fieldPath *field.Path, s *syncagentv1alpha1.TemplateStep) (step, field.ErrorList) {
	target, errs := compilePath(fieldPath.Child("path"), s.Path)
	tmplPath := fieldPath.Child("template")
	var tmpl *templating.Template
	if s.Template == "" {
		errs = append(errs, field.Required(tmplPath, ""))
	} else {
		var err error
		// Named after its field, so that rendering errors at sync time point back to it.
		if tmpl, err = templating.Parse(tmplPath.String(), s.Template); err != nil {
			errs = append(errs, field.Invalid(tmplPath, s.Template, causeOf(err).Error()))
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return &templateStep{target: target, tmpl: tmpl}, nil
}

// causeOf drops one layer of wrapping whose context (which template) the field path already
// gives.
func causeOf(err error) error {
	if inner := errors.Unwrap(err); inner != nil {
		return inner
	}
	return err
}

func (s *templateStep) kind() string { return "template" }
func (s *templateStep) path() Path   { return s.target }

func (s *templateStep) apply(obj map[string]any, data templating.Data) error {
	data.Object = obj
	out, err := s.tmpl.Render(data)
	if err != nil {
		return err
	}
	return s.target.Set(obj, out)
}

// celStep sets a field to the value of a CEL expression.
type celStep struct {
	target Path
	prg    cel.Program
}

func compileCELStep(fieldPath *field.Path, s *syncagentv1alpha1.CELStep) (step, field.ErrorList) {
	target, errs := compilePath(fieldPath.Child("path"), s.Path)
	exprPath := fieldPath.Child("expression")
	var prg cel.Program
	if s.Expression == "" {
		errs = append(errs, field.Required(exprPath, ""))
	} else {
		var err error
		if prg, err = compileCEL(s.Expression); err != nil {
			errs = append(errs, field.Invalid(exprPath, s.Expression, err.Error()))
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return &celStep{target: target, prg: prg}, nil
}

func (s *celStep) kind() string { return "cel" }
func (s *celStep) path() Path   { return s.target }

func (s *celStep) apply(obj map[string]any, data templating.Data) error {
	v, err := evalCEL(s.prg, obj, data.ClusterName)
	if err != nil {
		return err
	}
	return s.target.Set(obj, v)
}
