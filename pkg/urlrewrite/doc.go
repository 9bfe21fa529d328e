// Package urlrewrite maps the URLs kcp hands out for its shards (endpoint slice URLs, Shard base
// URLs) to the addresses a process reaches them at, for installations where shards register
// internal addresses that the process cannot reach directly. Rules come from repeatable flags
// of the form <from>=<to>: a URL that starts with <from> has that prefix replaced by <to>.
package urlrewrite
