// Package bindprotocol is the wire contract between bindery-backend and its clients
// (`kubectl bindery login|bind` and the konnector): the HTTP paths, the query parameters of the
// browser login, and the JSON bodies of the API. Both sides import it, so a change to the contract
// is a change to one file.
//
// The login is two OAuth-style legs. The client (the CLI) opens the backend's LoginPath in the
// browser with a loopback RedirectURI, its own State and a PKCE CodeChallenge (S256). The backend
// signs the user in at the OIDC issuer (its own authorization code flow with PKCE, state and
// nonce), optionally lets them pick a Service, and redirects the browser to the loopback address
// with a one-time Code (and the picked Service). The client exchanges Code and its CodeVerifier at
// TokenPath for a Session: a bearer token for the API, signed by the backend, valid until
// ExpiresAt. Nothing secret ever travels in a URL except the one-time code, which is useless
// without the verifier.
package bindprotocol
