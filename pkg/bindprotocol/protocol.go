package bindprotocol

import (
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// Paths the backend serves.
const (
	// LoginPath starts a browser sign-in (GET, query parameters below).
	LoginPath = "/login"
	// CallbackPath is where the OIDC issuer sends the browser back; register
	// <backend URL>/callback as the client's redirect URI at the issuer.
	CallbackPath = "/callback"
	// TokenPath exchanges a one-time code for a Session (POST TokenRequest).
	TokenPath = "/api/v1/token"
	// WhoAmIPath returns the signed-in user (GET, bearer Session).
	WhoAmIPath = "/api/v1/whoami"
	// ServicesPath lists the Services the signed-in user may bind (GET, bearer Session).
	ServicesPath = "/api/v1/services"
	// BindPathFormat binds one Service (POST BindRequest, bearer Session); %s is the Service name.
	BindPathFormat = "/api/v1/services/%s/bind"
)

// Query parameters of LoginPath and of the redirect back to the client.
const (
	// ParamRedirectURI is the client's loopback callback, http://127.0.0.1:<port>/<path> or
	// http://[::1]:<port>/<path> (http://localhost is accepted too). Anything else is refused.
	ParamRedirectURI = "redirect_uri"
	// ParamState is the client's opaque value, returned unchanged with the code.
	ParamState = "state"
	// ParamCodeChallenge is base64url(SHA-256(code verifier)), without padding.
	ParamCodeChallenge = "code_challenge"
	// ParamCodeChallengeMethod must be "S256".
	ParamCodeChallengeMethod = "code_challenge_method"
	// ParamSelect set to "service" makes the backend let the user pick a Service before it
	// returns to the client; the pick comes back as ParamService.
	ParamSelect = "select"
	// ParamCode is the one-time code returned to the client.
	ParamCode = "code"
	// ParamService is the Service the user picked (with select=service).
	ParamService = "service"
	// ParamError and ParamErrorDescription report a failed login to the client instead of a code.
	ParamError            = "error"
	ParamErrorDescription = "error_description"
)

// SelectService is the value of ParamSelect that asks for a Service pick.
const SelectService = "service"

// CodeChallengeS256 is the only PKCE method the backend accepts.
const CodeChallengeS256 = "S256"

// TokenRequest exchanges a one-time code.
type TokenRequest struct {
	Code         string `json:"code"`
	CodeVerifier string `json:"codeVerifier"`
	// RedirectURI must be the one the login started with.
	RedirectURI string `json:"redirectURI"`
}

// Session is what a client holds after signing in.
type Session struct {
	// Token is the bearer token for the API ("Authorization: Bearer <token>").
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
	User      User      `json:"user"`
	// Service is the Service the user picked, when the login asked for a pick.
	Service string `json:"service,omitempty"`
}

// User is the signed-in user as the backend (and the provider's kube-apiserver) sees it.
type User struct {
	Issuer  string `json:"issuer"`
	Subject string `json:"subject"`
	// Username is the name the provider's kube-apiserver gives the user (claim and prefix
	// applied); access reviews and RBAC use it.
	Username    string   `json:"username"`
	Groups      []string `json:"groups,omitempty"`
	DisplayName string   `json:"displayName,omitempty"`
}

// ServiceList is the answer of ServicesPath.
type ServiceList struct {
	Items []Service `json:"items"`
}

// Service is one Service the user may bind.
type Service struct {
	Name        string     `json:"name"`
	Title       string     `json:"title"`
	Description string     `json:"description,omitempty"`
	Resources   []Resource `json:"resources,omitempty"`
	// Available is false while the provider's Service is not Ready; Problem says why.
	Available bool   `json:"available"`
	Problem   string `json:"problem,omitempty"`
}

// Resource is an API a Service offers, as the consumer receives it.
type Resource struct {
	Group    string   `json:"group,omitempty"`
	Resource string   `json:"resource"`
	Kind     string   `json:"kind"`
	Versions []string `json:"versions,omitempty"`
}

// BindRequest binds a Service into one consumer cluster.
type BindRequest struct {
	Cluster Cluster `json:"cluster"`
}

// Cluster identifies the consumer cluster. The backend scopes it to the signed-in user: the same
// ID sent by another user names another Consumer.
type Cluster struct {
	// ID is the UID of the cluster's kube-system namespace.
	ID string `json:"id"`
	// Name is for humans (the kubeconfig context, say).
	Name string `json:"name,omitempty"`
}

// BindResponse is what a consumer cluster needs to consume the Service.
type BindResponse struct {
	// Consumer is the name of the Consumer object on the provider.
	Consumer string `json:"consumer"`
	// Namespace on the provider that the Consumer owns.
	Namespace string `json:"namespace"`
	// ServiceAccount in Namespace that Kubeconfig authenticates as.
	ServiceAccount string `json:"serviceAccount"`
	// Kubeconfig reaches the provider cluster with a short-lived token of ServiceAccount; its
	// Role allows the bound resources and their related kinds in Namespace, and creating tokens
	// for ServiceAccount (to renew the credential before ExpiresAt).
	Kubeconfig []byte    `json:"kubeconfig"`
	ExpiresAt  time.Time `json:"expiresAt"`
	// CRDs are the consumer-facing definitions of the Service's APIs, to install in the
	// consumer cluster (projected as the PublishedResources say).
	CRDs []apiextensionsv1.CustomResourceDefinition `json:"crds"`
	// Resources map each consumer-facing API to the provider-side resource its copies are.
	Resources []BoundResource `json:"resources"`
}

// BoundResource maps one consumer-facing API to the provider's.
type BoundResource struct {
	// PublishedResource on the provider that defines the mapping (projection, naming, related).
	PublishedResource string   `json:"publishedResource"`
	Consumer          Resource `json:"consumer"`
	Provider          Resource `json:"provider"`
	// Related are the kinds of objects that travel with this resource (the PublishedResource's
	// related entries), as the consumer cluster serves them: the konnector reads and writes them
	// there, so the consumer grants it exactly these.
	Related []RelatedKind `json:"related,omitempty"`
}

// RelatedKind is a kind of related object in the consumer cluster.
type RelatedKind struct {
	// Group and Resource name it as the consumer cluster serves it ("" and "secrets", say).
	Group    string `json:"group"`
	Resource string `json:"resource"`
	// Origin is the side that owns the objects: "consumer" (the konnector copies them to the
	// provider) or "provider" (it writes copies into the consumer cluster).
	Origin string `json:"origin"`
}

// Error is the body of every non-2xx answer of the API.
type Error struct {
	// Reason is a CamelCase machine-readable cause, e.g. Forbidden, ServiceNotFound.
	Reason string `json:"reason"`
	// Message says what is wrong and what to do, for humans.
	Message string `json:"message"`
	// Field names the request field at fault, when there is one.
	Field string `json:"field,omitempty"`
}

// Reasons of Error.
const (
	ReasonUnauthenticated = "Unauthenticated"
	ReasonSessionExpired  = "SessionExpired"
	ReasonForbidden       = "Forbidden"
	ReasonServiceNotFound = "ServiceNotFound"
	ReasonServiceNotReady = "ServiceNotReady"
	ReasonInvalidRequest  = "InvalidRequest"
	ReasonInvalidCode     = "InvalidCode"
	// ReasonConsumerDeleting: the provider is revoking the Consumer; bind again once it is gone.
	ReasonConsumerDeleting = "ConsumerDeleting"
	ReasonInternal         = "InternalError"
)
