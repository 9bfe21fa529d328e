// Package bindclient is the client side of bindprotocol: the browser sign-in that a CLI runs
// against bindery-backend (a loopback listener, PKCE and state, the code exchanged for a
// Session), a store that keeps one Session per backend in the user's config directory, and a
// Client for the backend's API (who am I, which Services may I bind, bind one). kubectl bindery
// and the konnector use it, so the protocol's client half is written once; it depends only on
// bindprotocol and the standard library.
package bindclient
