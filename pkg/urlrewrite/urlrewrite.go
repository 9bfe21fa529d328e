package urlrewrite

import (
	"fmt"
	"net/url"
	"strings"
)

// Rule replaces the prefix From of a URL with To.
type Rule struct {
	From, To string
}

// Rules are applied in order; the first rule whose From prefixes a URL rewrites it.
type Rules []Rule

// Parse reads rules written <from>=<to>, both absolute http(s) URLs, e.g.
// https://shard-1.kcp.svc:6443=https://kcp-shard-1.example.com. flag names the flag in errors.
func Parse(flag string, values []string) (Rules, error) {
	var rules Rules
	for _, v := range values {
		from, to, ok := strings.Cut(v, "=")
		if !ok {
			return nil, fmt.Errorf("%s %q: want <from>=<to>, e.g. https://shard-1.kcp.svc:6443=https://kcp-shard-1.example.com", flag, v)
		}
		for _, u := range []string{from, to} {
			if err := checkURL(u); err != nil {
				return nil, fmt.Errorf("%s %q: %w", flag, v, err)
			}
		}
		rules = append(rules, Rule{From: from, To: to})
	}
	return rules, nil
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", raw)
	}
	return nil
}

// Rewrite returns url with the first matching rule applied, or url itself.
func (r Rules) Rewrite(url string) string {
	for _, rule := range r {
		if rest, ok := strings.CutPrefix(url, rule.From); ok && (rest == "" || strings.HasPrefix(rest, "/") || strings.HasSuffix(rule.From, "/")) {
			return rule.To + rest
		}
	}
	return url
}

// Func returns Rewrite as a function, or nil without rules (the providers' default: unchanged).
func (r Rules) Func() func(string) string {
	if len(r) == 0 {
		return nil
	}
	return r.Rewrite
}
