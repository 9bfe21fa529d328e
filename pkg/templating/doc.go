// Package templating renders the Go templates a PublishedResource carries: the naming templates
// that decide where the provider-side copy of a consumer object lands, the name templates of
// related objects, and the template mutation steps. It fixes the data a template sees (Data: the
// consumer's cluster name and path and the object as a map) and the small set of functions
// available to it (shortHash, dnsLabel, lower, trunc, join), so that every place in bindery that
// evaluates a user's template behaves the same way. Templates are parsed once, when the
// PublishedResource is reconciled, so that syntax errors surface as a status condition before
// any object is synced; rendering happens per object and fails on missing keys instead of
// silently producing "<no value>".
package templating
