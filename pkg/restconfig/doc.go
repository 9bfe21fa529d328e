// Package restconfig holds the client settings every bindery process applies to its rest.Configs.
// Today that is one: a client-side rate limit sized for a fleet, since client-go's default of 5
// requests per second (burst 10) would throttle a sync or a recount long before kcp does.
package restconfig
