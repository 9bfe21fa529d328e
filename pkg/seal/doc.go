// Package seal turns small values into opaque, tamper-proof, expiring strings and back. The
// backend keeps no session state of its own: a signed-in user's session, a login in progress and a
// one-time code are each a sealed value (AES-256-GCM, so a client can neither read nor forge one)
// that the browser or the CLI carries. Each value is sealed for a purpose, and a value sealed for
// one purpose does not open for another, so a login cookie can never be replayed as a session.
// The key lives in a Secret on the provider cluster, so sessions outlive a restart of the backend.
package seal
