package bindclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/bindery-dev/bindery/pkg/bindprotocol"
)

// maxErrorBody bounds how much of a non-JSON error answer is quoted back to the user.
const maxErrorBody = 512

// Client calls the backend's API with a Session's bearer token.
type Client struct {
	backend string
	token   string
	http    *http.Client
}

// NewClient returns a Client for the backend at backendURL that authenticates with session.
// A nil httpClient means http.DefaultClient; pass one from HTTPClient to trust a backend CA.
func NewClient(backendURL string, session *bindprotocol.Session, httpClient *http.Client) (*Client, error) {
	backend, err := NormalizeBackendURL(backendURL)
	if err != nil {
		return nil, err
	}
	if session == nil || session.Token == "" {
		return nil, errors.New("a client for the backend needs a session with a token: sign in first")
	}
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	return &Client{backend: backend, token: session.Token, http: httpClient}, nil
}

// WhoAmI returns the user the backend sees behind the session.
func (c *Client) WhoAmI(ctx context.Context) (*bindprotocol.User, error) {
	user := &bindprotocol.User{}
	if err := c.call(ctx, http.MethodGet, bindprotocol.WhoAmIPath, nil, user); err != nil {
		return nil, err
	}
	return user, nil
}

// Services lists the Services the signed-in user may bind.
func (c *Client) Services(ctx context.Context) ([]bindprotocol.Service, error) {
	list := &bindprotocol.ServiceList{}
	if err := c.call(ctx, http.MethodGet, bindprotocol.ServicesPath, nil, list); err != nil {
		return nil, err
	}
	return list.Items, nil
}

// Bind binds the Service named serviceName into the consumer cluster that req names.
func (c *Client) Bind(ctx context.Context, serviceName string, req bindprotocol.BindRequest) (*bindprotocol.BindResponse, error) {
	if serviceName == "" {
		return nil, errors.New("binding needs the name of a Service")
	}
	resp := &bindprotocol.BindResponse{}
	path := fmt.Sprintf(bindprotocol.BindPathFormat, url.PathEscape(serviceName))
	if err := c.call(ctx, http.MethodPost, path, req, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	return roundTrip(ctx, c.http, method, c.backend+path, c.token, in, out)
}

// roundTrip sends in (when not nil) as JSON to url, with a bearer token when one is given,
// and decodes a 2xx answer into out; any other answer becomes an *APIError.
func roundTrip(ctx context.Context, httpClient *http.Client, method, url, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encoding the request to %s: %w", url, err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return fmt.Errorf("preparing the request to %s: %w", url, err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return fmt.Errorf("calling the backend: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return decodeAPIError(resp)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("reading the answer of %s %s: %w", method, url, err)
	}
	return nil
}

// APIError is a non-2xx answer of the backend.
type APIError struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Body is the backend's bindprotocol.Error (reason, message, field).
	Body bindprotocol.Error
}

// Error is the backend's message, and the request field at fault when it names one.
func (e *APIError) Error() string {
	msg := e.Body.Message
	if msg == "" {
		msg = fmt.Sprintf("the backend answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
		if e.Body.Reason != "" {
			msg += " (" + e.Body.Reason + ")"
		}
	}
	if e.Body.Field != "" {
		msg += " (field " + e.Body.Field + ")"
	}
	return msg
}

// SignInAgain reports whether the backend refused the session itself (missing, invalid or
// expired), so that a new sign-in is the fix.
func (e *APIError) SignInAgain() bool {
	return e.Body.Reason == bindprotocol.ReasonUnauthenticated || e.Body.Reason == bindprotocol.ReasonSessionExpired
}

// decodeAPIError reads a bindprotocol.Error body. An answer without one (a proxy's HTML page,
// say) keeps its status and the start of its body, so the user sees who answered.
func decodeAPIError(resp *http.Response) error {
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("the backend answered %s, and reading its answer failed: %w", resp.Status, err)
	}
	apiErr := &APIError{StatusCode: resp.StatusCode}
	if json.Unmarshal(data, &apiErr.Body) == nil && (apiErr.Body.Reason != "" || apiErr.Body.Message != "") {
		return apiErr
	}
	apiErr.Body = bindprotocol.Error{}
	snippet := bytes.TrimSpace(data)
	if len(snippet) > maxErrorBody {
		snippet = append(snippet[:maxErrorBody:maxErrorBody], "…"...)
	}
	apiErr.Body.Message = fmt.Sprintf("%s answered %s without a bindery error (is it a bindery-backend URL?)", resp.Request.URL.Host, resp.Status)
	if len(snippet) > 0 {
		apiErr.Body.Message += ": " + string(snippet)
	}
	return apiErr
}
