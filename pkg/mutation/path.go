package mutation

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Path addresses a field of an unstructured object: dot-separated field names from the object
// root, such as spec.database.host. A segment that is a non-negative integer (spec.ports.0.name)
// indexes a list; on an object it is an ordinary field name. A "." or "\" inside a field name is
// escaped with "\", so metadata.annotations.example\.com/owner names the annotation
// "example.com/owner".
//
// Get, Set and Delete work on the map[string]any / []any trees that unstructured objects are made
// of. A JSON null along the way counts as an absent field.
type Path struct {
	segments []segment
}

type segment struct {
	// key is the segment's text, used as the field name when the value is an object.
	key string
	// index is the list index when the segment is a number, else -1.
	index int
}

// ParsePath parses a dot-separated field path. It rejects empty paths and segments, dangling or
// unknown escapes, negative indexes and indexes with leading zeros (which would read as field
// names to some and as list positions to others).
func ParsePath(p string) (Path, error) {
	if p == "" {
		return Path{}, errors.New("path must not be empty")
	}
	var (
		segments []segment
		cur      strings.Builder
		escaped  bool // the current segment used an escape, so it is a field name
	)
	finish := func() error {
		if cur.Len() == 0 {
			return fmt.Errorf("path %q has an empty segment at position %d", p, len(segments)+1)
		}
		seg, err := newSegment(cur.String(), escaped)
		if err != nil {
			return fmt.Errorf("path %q: segment %d: %w", p, len(segments)+1, err)
		}
		segments = append(segments, seg)
		cur.Reset()
		escaped = false
		return nil
	}
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '\\':
			if i+1 == len(p) || (p[i+1] != '.' && p[i+1] != '\\') {
				return Path{}, fmt.Errorf(`path %q: "\" must be followed by "." or "\"`, p)
			}
			i++
			cur.WriteByte(p[i])
			escaped = true
		case '.':
			if err := finish(); err != nil {
				return Path{}, err
			}
		default:
			cur.WriteByte(c)
		}
	}
	if err := finish(); err != nil {
		return Path{}, err
	}
	return Path{segments: segments}, nil
}

// newSegment classifies a segment as a list index or a field name.
func newSegment(text string, escaped bool) (segment, error) {
	if escaped || !isNumber(strings.TrimPrefix(text, "-")) {
		return segment{key: text, index: -1}, nil
	}
	if strings.HasPrefix(text, "-") {
		return segment{}, fmt.Errorf("list index %s is negative", text)
	}
	if len(text) > 1 && text[0] == '0' {
		return segment{}, fmt.Errorf("list index %s has a leading zero", text)
	}
	n, err := strconv.Atoi(text)
	if err != nil {
		return segment{}, fmt.Errorf("list index %s is too large", text)
	}
	return segment{key: text, index: n}, nil
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String returns the path in the syntax ParsePath accepts ("" for the zero Path).
func (p Path) String() string {
	if len(p.segments) == 0 {
		return ""
	}
	return p.prefix(len(p.segments))
}

// prefix renders the first n segments; error messages use it to say where a walk stopped.
func (p Path) prefix(n int) string {
	if n == 0 {
		return "<object root>"
	}
	parts := make([]string, n)
	for i, seg := range p.segments[:n] {
		parts[i] = strings.NewReplacer(`\`, `\\`, `.`, `\.`).Replace(seg.key)
	}
	return strings.Join(parts, ".")
}

// Get returns the value at the path. found is false when the field (or one above it) is absent,
// null, or a list index is out of range; an error means the path runs through a value that is
// neither an object nor a list, or indexes a list with a field name.
func (p Path) Get(obj map[string]any) (value any, found bool, err error) {
	if len(p.segments) == 0 {
		return nil, false, errors.New("empty path")
	}
	var cur any = obj
	for i, seg := range p.segments {
		switch c := cur.(type) {
		case nil:
			return nil, false, nil
		case map[string]any:
			v, ok := c[seg.key]
			if !ok {
				return nil, false, nil
			}
			cur = v
		case []any:
			if seg.index < 0 {
				return nil, false, p.notAnIndexError(i)
			}
			if seg.index >= len(c) {
				return nil, false, nil
			}
			cur = c[seg.index]
		default:
			return nil, false, p.notAContainerError(i, cur)
		}
	}
	return cur, true, nil
}

// Set sets the field at the path to value, creating missing (or null) intermediate objects. It
// does not create or extend lists: setting an index of an absent list, or one past the end of a
// list, is an error, because the intended length of the list is unknown.
func (p Path) Set(obj map[string]any, value any) error {
	if len(p.segments) == 0 {
		return errors.New("empty path")
	}
	if obj == nil {
		return errors.New("cannot set a field of a nil object")
	}
	var cur any = obj
	for i, seg := range p.segments {
		last := i == len(p.segments)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				c[seg.key] = value
				return nil
			}
			next := c[seg.key]
			if next == nil {
				m, err := p.newIntermediate(i + 1)
				if err != nil {
					return err
				}
				c[seg.key] = m
				next = m
			}
			cur = next
		case []any:
			if seg.index < 0 {
				return p.notAnIndexError(i)
			}
			if seg.index >= len(c) {
				return fmt.Errorf("%s: index %d is out of range, the list has %d items", p.prefix(i+1), seg.index, len(c))
			}
			if last {
				c[seg.index] = value
				return nil
			}
			next := c[seg.index]
			if next == nil {
				m, err := p.newIntermediate(i + 1)
				if err != nil {
					return err
				}
				c[seg.index] = m
				next = m
			}
			cur = next
		default:
			return p.notAContainerError(i, cur)
		}
	}
	return nil // not reached: the last segment returns inside the loop
}

// newIntermediate creates the object that holds segment n, refusing when segment n is a list
// index: an object with a key "0" is almost never what the user meant.
func (p Path) newIntermediate(n int) (map[string]any, error) {
	if p.segments[n].index >= 0 {
		return nil, fmt.Errorf("%s is absent, so its index %d cannot be set", p.prefix(n), p.segments[n].index)
	}
	return map[string]any{}, nil
}

// Delete removes the field at the path; when the last segment indexes a list, the element is
// removed and later elements move up. Absent fields are not an error.
func (p Path) Delete(obj map[string]any) error {
	if len(p.segments) == 0 {
		return errors.New("empty path")
	}
	_, err := p.deleteIn(obj, 0)
	return err
}

// deleteIn deletes segments[i:] below node and returns the node to store in place of it (a list
// that lost an element is a new slice).
func (p Path) deleteIn(node any, i int) (any, error) {
	seg := p.segments[i]
	last := i == len(p.segments)-1
	switch c := node.(type) {
	case nil:
		return node, nil
	case map[string]any:
		child, ok := c[seg.key]
		if !ok {
			return c, nil
		}
		if last {
			delete(c, seg.key)
			return c, nil
		}
		newChild, err := p.deleteIn(child, i+1)
		if err != nil {
			return nil, err
		}
		c[seg.key] = newChild
		return c, nil
	case []any:
		if seg.index < 0 {
			return nil, p.notAnIndexError(i)
		}
		if seg.index >= len(c) {
			return c, nil
		}
		if last {
			// Copy rather than shift in place: the caller's slice may be shared.
			out := make([]any, 0, len(c)-1)
			out = append(out, c[:seg.index]...)
			return append(out, c[seg.index+1:]...), nil
		}
		newChild, err := p.deleteIn(c[seg.index], i+1)
		if err != nil {
			return nil, err
		}
		c[seg.index] = newChild
		return c, nil
	default:
		return nil, p.notAContainerError(i, node)
	}
}

func (p Path) notAnIndexError(i int) error {
	return fmt.Errorf("%s is a list, but %q is not a list index", p.prefix(i), p.segments[i].key)
}

func (p Path) notAContainerError(i int, v any) error {
	return fmt.Errorf("%s is %s, not an object or a list, so it has no field %q", p.prefix(i), describe(v), p.segments[i].key)
}

// describe names the JSON type of an unstructured value for error messages.
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int, int32, int64, float32, float64:
		return "a number"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	default:
		return fmt.Sprintf("a %T", v)
	}
}
